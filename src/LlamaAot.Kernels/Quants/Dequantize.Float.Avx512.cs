// AVX-512 F16/BF16 rows → fp32: 16 halves zero-extended (vpmovzxwd) and shifted into the top of each lane, then
// Fp16Vector's exact widening (bf16 needs nothing more); the last n mod 16 elements go through the scalar converters.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class Dequantize
{
    public static void F16Avx512(byte* x, float* y, int n)
    {
        if (!Avx512F.IsSupported) { F16(x, y, n); return; }
        var h = (ushort*)x;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Fp16Vector.HalfHiToSingle(Avx512F.ConvertToVector512Int32(Vector256.Load(h + i)) << 16).Store(y + i);
        }
        for (; i < n; i++) y[i] = Fp16.ToFloat(h[i]);
    }

    public static void BF16Avx512(byte* x, float* y, int n)
    {
        if (!Avx512F.IsSupported) { BF16(x, y, n); return; }
        var h = (ushort*)x;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            (Avx512F.ConvertToVector512Int32(Vector256.Load(h + i)) << 16).AsSingle().Store(y + i);
        }
        for (; i < n; i++) y[i] = Fp16.BF16ToFloat(h[i]);
    }
}
