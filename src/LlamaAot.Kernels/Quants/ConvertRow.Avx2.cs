// AVX2 fp32 → F16/BF16 rows: 16 elements per step as two 8-lane Fp16Vector conversions (bit-exact with the scalar
// converters), packed to 16 bits with vpackusdw (every value is ≤ 0xffff, so the saturation never bites) and put back
// in order with vpermq; the last n mod 16 elements go through the scalar converters.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class ConvertRow
{
    public static void ToF16Avx2(float* x, byte* y, int n)
    {
        if (!Avx2.IsSupported) { ToF16(x, y, n); return; }
        var h = (ushort*)y;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var lo = Fp16Vector.SingleToHalf(Vector256.Load(x + i));
            var hi = Fp16Vector.SingleToHalf(Vector256.Load(x + i + 8));
            Avx2.Permute4x64(Avx2.PackUnsignedSaturate(lo, hi).AsUInt64(), 0b11_01_10_00).AsUInt16().Store(h + i);
        }
        for (; i < n; i++) h[i] = Fp16.FromFloat(x[i]);
    }

    public static void ToBF16Avx2(float* x, byte* y, int n)
    {
        if (!Avx2.IsSupported) { ToBF16(x, y, n); return; }
        var h = (ushort*)y;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var lo = Fp16Vector.SingleToBF16(Vector256.Load(x + i));
            var hi = Fp16Vector.SingleToBF16(Vector256.Load(x + i + 8));
            Avx2.Permute4x64(Avx2.PackUnsignedSaturate(lo, hi).AsUInt64(), 0b11_01_10_00).AsUInt16().Store(h + i);
        }
        for (; i < n; i++) h[i] = Fp16.FloatToBF16(x[i]);
    }
}
