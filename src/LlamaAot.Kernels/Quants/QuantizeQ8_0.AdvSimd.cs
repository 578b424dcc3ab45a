// NEON fp32 → Q8_0 (AArch64), byte-identical to Reference for every input
// (non-finite amax or 127/amax: Reference for that block, see QuantizeQ8_0.Avx2.cs): amax as an int max of |x| bits (see
// QuantizeQ8_0.Avx2.cs) with umaxv-style MaxAcross, q = fcvtns (round to nearest, ties to even) of x · id, then
// saturating narrows int32 → int16 → int8 in element order.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeQ8_0
{
    public static void Neon(float* x, byte* y, int n)
    {
        if (!AdvSimd.Arm64.IsSupported)
        {
            Reference(x, y, n);
            return;
        }
        var abs = Vector128.Create(0x7fffffff);
        for (int b = 0; b < n / BlockQ8_0.QK; b++, x += BlockQ8_0.QK, y += sizeof(BlockQ8_0))
        {
            var m = Vector128<int>.Zero;
            for (int i = 0; i < 8; i++) m = AdvSimd.Max(m, AdvSimd.And(AdvSimd.LoadVector128(x + 4 * i).AsInt32(), abs));
            float amax = BitConverter.Int32BitsToSingle(AdvSimd.Arm64.MaxAcross(m).ToScalar());
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            if (!float.IsFinite(amax) || !float.IsFinite(id))
            {
                Reference(x, y, BlockQ8_0.QK);   // NaN/inf inputs, or 127/amax overflowing: see the file header
                continue;
            }
            *(ushort*)y = Fp16.FromFloat(d);
            var idv = Vector128.Create(id);
            for (int h = 0; h < 2; h++)
            {
                float* xh = x + 16 * h;
                var s0 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(Q(xh, idv)), Q(xh + 4, idv));
                var s1 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(Q(xh + 8, idv)), Q(xh + 12, idv));
                AdvSimd.Store((sbyte*)(y + 2 + 16 * h), AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s0), s1));
            }
        }

        static Vector128<int> Q(float* p, Vector128<float> id) => AdvSimd.ConvertToInt32RoundToEven(AdvSimd.Multiply(AdvSimd.LoadVector128(p), id));
    }
}
