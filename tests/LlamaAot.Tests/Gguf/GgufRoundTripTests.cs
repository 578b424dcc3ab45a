// Writer ∘ reader: every shared model (written by llama.cpp's tools) comes back byte for byte, and files the writer
// makes itself (several tensor types, non-default alignment) read back with identical metadata and tensor bytes.
using LlamaAot.Gguf;
using LlamaAot.Kernels.Quants;
using Xunit;

namespace LlamaAot.Tests.Gguf;

public class GgufRoundTripTests
{
    public static TheoryData<string> ModelFiles => GgufReaderTests.ModelFiles;

    [Theory]
    [MemberData(nameof(ModelFiles))]
    public void CopyOfSharedModelIsByteIdentical(string fileName)
    {
        string path = TestPaths.Model(fileName);
        byte[] original = File.ReadAllBytes(path);
        using var f = GgufFile.Open(path);
        var output = new MemoryStream(original.Length);
        GgufWriter.CopyOf(f).WriteTo(output);
        AssertSameBytes(original, output.ToArray(), f);
    }

    /// <summary>Fails with the first differing offset and what lives there (header field region or tensor).</summary>
    internal static void AssertSameBytes(byte[] expected, byte[] actual, GgufFile? layout = null)
    {
        int common = Math.Min(expected.Length, actual.Length);
        int first = expected.AsSpan(0, common).CommonPrefixLength(actual.AsSpan(0, common));
        if (first == common && expected.Length == actual.Length) return;

        string where = "";
        if (layout is not null)
        {
            if (first < layout.DataOffset) where = " (in the header, before the data section)";
            else
            {
                var t = layout.Tensors.FirstOrDefault(t =>
                    first >= layout.DataOffset + (long)t.Offset && first < layout.DataOffset + (long)t.Offset + t.ByteSize);
                where = t is null ? " (in padding of the data section)" : $" (in tensor '{t.Name}')";
            }
        }
        string Byte(byte[] b) => first < b.Length ? $"0x{b[first]:X2}" : "EOF";
        Assert.Fail($"bytes differ first at offset {first}{where}: expected {Byte(expected)}, got {Byte(actual)}; " +
                    $"lengths expected {expected.Length}, got {actual.Length}");
    }

    [Fact]
    public void AssertSameBytesReportsTheFirstDifference()
    {
        byte[] a = [1, 2, 3, 4];
        AssertSameBytes(a, [1, 2, 3, 4]);
        var e = Assert.ThrowsAny<Exception>(() => AssertSameBytes(a, [1, 2, 9, 4]));
        Assert.Contains("offset 2", e.Message, StringComparison.Ordinal);
        e = Assert.ThrowsAny<Exception>(() => AssertSameBytes(a, [1, 2, 3]));
        Assert.Contains("offset 3", e.Message, StringComparison.Ordinal);
    }

    private sealed record TestTensor(string Name, GgmlType Type, long[] Dims, byte[] Data);

    private static List<TestTensor> SeveralTensors()
    {
        var list = new List<TestTensor>();
        void Add(string name, GgmlType type, long[] dims)
        {
            var info = GgmlTypes.Get(type);
            long bytes = dims.Aggregate(1L, (a, d) => a * d) / info.BlockSize * info.TypeSize;
            list.Add(new TestTensor(name, type, dims, GgufBuilder.Pattern((int)bytes, salt: list.Count + 1)));
        }
        Add("norm.weight", GgmlType.F32, [7]);                  // 28 bytes: forces padding before the next tensor
        Add("q8.weight", GgmlType.Q8_0, [64, 3]);
        Add("k4.weight", GgmlType.Q4_K, [256, 2]);
        Add("f16.cube", GgmlType.F16, [3, 5, 2]);
        Add("i32.4d", GgmlType.I32, [2, 1, 3, 2]);
        Add("iq4xs.weight", GgmlType.IQ4_XS, [512, 1]);
        return list;
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(8u)]
    [InlineData(64u)]
    [InlineData(4096u)]
    public void WriterMadeFileReadsBackIdentically(uint alignment)
    {
        var tensors = SeveralTensors();
        var w = new GgufWriter();
        w.Metadata.Set("general.architecture", GgufValue.Of("test"));
        w.Metadata.Set(GgufFile.AlignmentKey, GgufValue.Of(alignment));
        w.Metadata.Set("test.list", GgufValue.Of(new GgufArray(GgufValueType.String, new[] { "a", "bc" })));
        w.Metadata.Set("test.eps", GgufValue.Of(1e-6f));
        foreach (var t in tensors) w.AddTensor(t.Name, t.Type, t.Dims, t.Data);
        Assert.Equal(alignment, w.Alignment);

        var ms = new MemoryStream();
        w.WriteTo(ms);
        byte[] bytes = ms.ToArray();

        using var f = GgufFile.FromBytes(bytes, "writer-made");
        Assert.Equal(alignment, f.Alignment);
        Assert.Equal(0, f.DataOffset % alignment);
        Assert.Equal(0, bytes.Length % alignment);   // every tensor, the last included, is padded
        GgufReaderTests.AssertMetadataEqual(w.Metadata, f.Metadata);
        Assert.Equal(tensors.Select(t => t.Name), f.Tensors.Select(t => t.Name));
        ulong expectedOffset = 0;
        foreach (var t in tensors)
        {
            var info = f.GetTensor(t.Name);
            Assert.Equal(t.Type, info.Type);
            Assert.Equal(t.Dims, info.Dims);
            Assert.Equal(expectedOffset, info.Offset);   // packed in order, each start aligned
            Assert.Equal(t.Data, f.GetData(info).ToArray());
            expectedOffset = (ulong)GgufFile.AlignUp((long)info.Offset + info.ByteSize, alignment);
        }

        // Writing what was read gives the same bytes again.
        var again = new MemoryStream();
        GgufWriter.CopyOf(f).WriteTo(again);
        AssertSameBytes(bytes, again.ToArray(), f);
    }

    [Fact]
    public void WriterHonoursVersion2()
    {
        var w = new GgufWriter(version: 2);
        w.Metadata.Set("k", GgufValue.Of(1u));
        w.AddTensor("t", GgmlType.F32, [4], GgufBuilder.Pattern(16));
        var ms = new MemoryStream();
        w.WriteTo(ms);
        using var f = GgufFile.FromBytes(ms.ToArray());
        Assert.Equal(2u, f.Version);
        Assert.Equal(GgufBuilder.Pattern(16), f.GetData(f.Tensors[0]).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufWriter(version: 1));
    }

    [Fact]
    public void WriterRejectsWrongDataLengthAndKeepsNoHalfAddedTensor()
    {
        var w = new GgufWriter();
        Assert.Throws<ArgumentException>(() => w.AddTensor("short", GgmlType.F32, [8], new byte[31]));
        w.AddTensor("ok", GgmlType.F32, [8], new byte[32]);
        var ms = new MemoryStream();
        w.WriteTo(ms);
        using var f = GgufFile.FromBytes(ms.ToArray());
        Assert.Equal(["ok"], f.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void WriterRejectsBadTensorShapes()
    {
        var w = new GgufWriter();
        Assert.Throws<ArgumentException>(() => w.AddTensor("blocky", GgmlType.Q8_0, [33], new byte[34]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("zero", GgmlType.F32, [0], Array.Empty<byte>()));
        Assert.Throws<ArgumentException>(() => w.AddTensor("five", GgmlType.F32, [1, 1, 1, 1, 1], new byte[4]));
        w.AddTensor("dup", GgmlType.F32, [1], new byte[4]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("dup", GgmlType.F32, [1], new byte[4]));
    }
}

public class GgufWriterAlignmentTests
{
    [Theory]
    [InlineData(3u)]
    [InlineData(0u)]
    public void Writer_refuses_a_non_power_of_two_alignment(uint alignment)
    {
        var w = new LlamaAot.Gguf.GgufWriter();
        w.Metadata.Set(LlamaAot.Gguf.GgufFile.AlignmentKey, LlamaAot.Gguf.GgufValue.Of(alignment));
        Assert.Throws<InvalidOperationException>(() => w.WriteTo(new MemoryStream()));
    }

    [Fact]
    public void Writer_refuses_an_alignment_of_the_wrong_type()
    {
        var w = new LlamaAot.Gguf.GgufWriter();
        w.Metadata.Set(LlamaAot.Gguf.GgufFile.AlignmentKey, LlamaAot.Gguf.GgufValue.Of(64UL));
        Assert.Throws<InvalidOperationException>(() => w.WriteTo(new MemoryStream()));
    }
}
