using LlamaAot.Kernels.MatMul;

namespace LlamaAot.Tests.Kernels;

public class DecodeOrderTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(5, 6)]
    [InlineData(3, 5)]
    [InlineData(0, 7)]
    [InlineData(10, 20)]
    [InlineData(4, 1031)]
    public void Two_streams_visit_every_row_of_the_range_once_alternating_halves(int start, int end)
    {
        int n = end - start, h = (n + 1) / 2;
        var rows = Enumerable.Range(0, n).Select(i => MatMul.TwoStreamRow(start, end, i)).ToArray();
        Assert.Equal(Enumerable.Range(start, n), rows.Order());
        // Even steps walk the first half in order, odd steps the second.
        for (int i = 0; i < n; i++)
        {
            if (i % 2 == 0) Assert.Equal(start + i / 2, rows[i]);
            else Assert.Equal(start + h + i / 2, rows[i]);
        }
    }
}
