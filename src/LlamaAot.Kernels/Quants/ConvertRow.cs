// fp32 rows → the plain activation formats (F32 copy, F16, BF16), the from_float side of the float dots.
namespace LlamaAot.Kernels.Quants;

public static unsafe partial class ConvertRow
{
    public static void ToF32(float* x, byte* y, int n) => Buffer.MemoryCopy(x, y, n * 4L, n * 4L);

    public static void ToF16(float* x, byte* y, int n)
    {
        var h = (ushort*)y;
        for (int i = 0; i < n; i++) h[i] = Fp16.FromFloat(x[i]);
    }

    public static void ToBF16(float* x, byte* y, int n)
    {
        var h = (ushort*)y;
        for (int i = 0; i < n; i++) h[i] = Fp16.FloatToBF16(x[i]);
    }
}
