// AVX-512 fp32 → F16/BF16 rows: 16 lanes through Fp16Vector's integer rounding (bit-exact with the scalar (Half)
// cast and FloatToBF16), narrowed with vpmovdw; the last n mod 16 elements go through the scalar converters.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class ConvertRow
{
    public static void ToF16Avx512(float* x, byte* y, int n)
    {
        if (!Avx512F.IsSupported) { ToF16(x, y, n); return; }
        var h = (ushort*)y;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Avx512F.ConvertToVector256UInt16(Fp16Vector.SingleToHalf(Vector512.Load(x + i)).AsUInt32()).Store(h + i);
        }
        for (; i < n; i++) h[i] = Fp16.FromFloat(x[i]);
    }

    public static void ToBF16Avx512(float* x, byte* y, int n)
    {
        if (!Avx512F.IsSupported) { ToBF16(x, y, n); return; }
        var h = (ushort*)y;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Avx512F.ConvertToVector256UInt16(Fp16Vector.SingleToBF16(Vector512.Load(x + i)).AsUInt32()).Store(h + i);
        }
        for (; i < n; i++) h[i] = Fp16.FloatToBF16(x[i]);
    }
}
