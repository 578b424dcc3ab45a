// Reference row dequantizers (block format → fp32): the specification each format's dot kernels must agree with.
namespace LlamaAot.Kernels.Quants;

public static unsafe partial class Dequantize
{
    public static void F32(byte* x, float* y, int n) => Buffer.MemoryCopy(x, y, n * 4L, n * 4L);

    public static void F16(byte* x, float* y, int n)
    {
        var h = (ushort*)x;
        for (int i = 0; i < n; i++) y[i] = Fp16.ToFloat(h[i]);
    }

    public static void BF16(byte* x, float* y, int n)
    {
        var h = (ushort*)x;
        for (int i = 0; i < n; i++) y[i] = Fp16.BF16ToFloat(h[i]);
    }

    /// <summary>x[j] = q[j] * d.</summary>
    public static void Q8_0(byte* x, float* y, int n)
    {
        var b = (BlockQ8_0*)x;
        for (int i = 0; i < n / BlockQ8_0.QK; i++, y += BlockQ8_0.QK)
        {
            float d = Fp16.ToFloat(b[i].D);
            for (int j = 0; j < BlockQ8_0.QK; j++) y[j] = b[i].Qs[j] * d;
        }
    }

    /// <summary>x[j] = (lo nibble of qs[j] - 8) * d, x[j + 16] = (hi nibble of qs[j] - 8) * d.</summary>
    public static void Q4_0(byte* x, float* y, int n)
    {
        var b = (BlockQ4_0*)x;
        for (int i = 0; i < n / BlockQ4_0.QK; i++, y += BlockQ4_0.QK)
        {
            float d = Fp16.ToFloat(b[i].D);
            for (int j = 0; j < BlockQ4_0.QK / 2; j++)
            {
                y[j] = ((b[i].Qs[j] & 0x0F) - 8) * d;
                y[j + 16] = ((b[i].Qs[j] >> 4) - 8) * d;
            }
        }
    }
}
