// NEON activation quantizers fp32 → Q8_1 and Q8_K (AArch64), byte-identical to QuantizeFormats.Q8_1 / Q8_K; rules as
// in QuantizeFormats.Avx2.cs. Q8_1 mirrors QuantizeQ8_0.Neon (umaxv-style MaxAcross, fcvtns, saturating narrows)
// plus s = fp16(d·Σq); Q8_K runs the portable Vector128 core (QuantizeFormats.Vector128.cs), which is NEON code there.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace LlamaAot.Kernels.Quants;

public static unsafe partial class QuantizeFormats
{
    public static void Q8_1Neon(float* x, byte* y, int n)
    {
        if (!AdvSimd.Arm64.IsSupported)
        {
            Q8_1(x, y, n);
            return;
        }
        var abs = Vector128.Create(0x7fffffff);
        for (int b = 0; b < n / BlockQ8_1.QK; b++, x += BlockQ8_1.QK, y += sizeof(BlockQ8_1))
        {
            var m = Vector128<int>.Zero;
            for (int i = 0; i < 8; i++) m = AdvSimd.Max(m, AdvSimd.And(AdvSimd.LoadVector128(x + 4 * i).AsInt32(), abs));
            float amax = BitConverter.Int32BitsToSingle(AdvSimd.Arm64.MaxAcross(m).ToScalar());
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            if (!float.IsFinite(amax) || !float.IsFinite(id))
            {
                Q8_1(x, y, BlockQ8_1.QK);   // NaN/inf inputs, or 127/amax overflowing: see QuantizeFormats.Avx2.cs
                continue;
            }
            var idv = Vector128.Create(id);
            var sum = Vector128<int>.Zero;
            for (int h = 0; h < 2; h++)
            {
                float* xh = x + 16 * h;
                var q0 = Q(xh, idv);
                var q1 = Q(xh + 4, idv);
                var q2 = Q(xh + 8, idv);
                var q3 = Q(xh + 12, idv);
                sum = AdvSimd.Add(sum, AdvSimd.Add(AdvSimd.Add(q0, q1), AdvSimd.Add(q2, q3)));
                var s0 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(q0), q1);
                var s1 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(q2), q3);
                AdvSimd.Store((sbyte*)(y + 4 + 16 * h), AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(s0), s1));
            }
            *(ushort*)y = Fp16.FromFloat(d);
            *(ushort*)(y + 2) = Fp16.FromFloat(d * AdvSimd.Arm64.AddAcross(sum).ToScalar());
        }

        static Vector128<int> Q(float* p, Vector128<float> id) => AdvSimd.ConvertToInt32RoundToEven(AdvSimd.Multiply(AdvSimd.LoadVector128(p), id));
    }

    public static void Q8_KNeon(float* x, byte* y, int n)
    {
        if (!AdvSimd.Arm64.IsSupported)
        {
            Q8_K(x, y, n);
            return;
        }
        Q8_KCore128(x, y, n);
    }
}
