// ggml_v_expf (ExpF.Ggml) on whole vectors, lane for lane the same arithmetic: the same fmas in the same order,
// the same ±192 cut-off to 0/+inf, and 2^n applied with one correctly rounded multiply as MathF.ScaleB does.
// AVX-512 uses vscalefps as ggml does. Without it, 2^n (|n| ≤ 192) is split as 2^(n>>1) · 2^(n − (n>>1)), both
// factors normal fp32 powers built in the exponent field: j · 2^(n>>1) stays normal and is exact (j ∈ [0.7, 1.5]),
// so only the second multiply rounds — including into subnormals or to inf — which is ScaleB's result.
// Callers guard the ISA; the helpers are inlined into them.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Ops;

internal static class ExpFVector
{
    // ExpF's constants as fp32 bits (0x1.715476p+0 and so on); the tests compare every lane with ExpF.Ggml.
    private const uint Log2E = 0x3FB8AA3B, Ln2Hi = 0x3F317200, Ln2Lo = 0x35BFBE8E;
    private const uint P0 = 0x3C072010, P1 = 0x3D2B9F17, P2 = 0x3E2AAF33, P3 = 0x3EFFFEDB, P4 = 0x3F7FFFF6;
    private const float Round = 12582912f;   // 0x1.8p23
    private const float Cutoff = 192f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Avx512(Vector512<float> x)
    {
        var round = Vector512.Create(Round);
        var z = Avx512F.FusedMultiplyAdd(x, Vector512.Create(Log2E).AsSingle(), round);
        var n = z - round;
        var b = Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(Ln2Lo).AsSingle(),
            Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(Ln2Hi).AsSingle(), x));
        var u = b * b;
        var j = Avx512F.FusedMultiplyAdd(
            Avx512F.FusedMultiplyAdd(
                Avx512F.FusedMultiplyAdd(Vector512.Create(P0).AsSingle(), b, Vector512.Create(P1).AsSingle()),
                u,
                Avx512F.FusedMultiplyAdd(Vector512.Create(P2).AsSingle(), b, Vector512.Create(P3).AsSingle())),
            u,
            Avx512F.FusedMultiplyAdd(Vector512.Create(P4).AsSingle(), b, Vector512<float>.One));
        var res = Avx512F.Scale(j, n);
        var far = Vector512.GreaterThan(Vector512.Abs(n), Vector512.Create(Cutoff));
        var alt = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(n, Vector512<float>.Zero),
            Vector512<float>.Zero, Vector512.Create(float.PositiveInfinity));
        return Vector512.ConditionalSelect(far, alt, res);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Avx2(Vector256<float> x)
    {
        var round = Vector256.Create(Round);
        var z = Fma.MultiplyAdd(x, Vector256.Create(Log2E).AsSingle(), round);
        var n = z - round;
        var b = Fma.MultiplyAddNegated(n, Vector256.Create(Ln2Lo).AsSingle(),
            Fma.MultiplyAddNegated(n, Vector256.Create(Ln2Hi).AsSingle(), x));
        var u = b * b;
        var j = Fma.MultiplyAdd(
            Fma.MultiplyAdd(
                Fma.MultiplyAdd(Vector256.Create(P0).AsSingle(), b, Vector256.Create(P1).AsSingle()),
                u,
                Fma.MultiplyAdd(Vector256.Create(P2).AsSingle(), b, Vector256.Create(P3).AsSingle())),
            u,
            Fma.MultiplyAdd(Vector256.Create(P4).AsSingle(), b, Vector256<float>.One));
        var ni = Avx.ConvertToVector256Int32WithTruncation(n);   // n is integral; lanes past ±192 are replaced below
        var half = ni >> 1;
        var s1 = ((half + Vector256.Create(127)) << 23).AsSingle();
        var s2 = ((ni - half + Vector256.Create(127)) << 23).AsSingle();
        var res = j * s1 * s2;
        var far = Vector256.GreaterThan(Vector256.Abs(n), Vector256.Create(Cutoff));
        var alt = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(n, Vector256<float>.Zero),
            Vector256<float>.Zero, Vector256.Create(float.PositiveInfinity));
        return Vector256.ConditionalSelect(far, alt, res);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> V128(Vector128<float> x)
    {
        var round = Vector128.Create(Round);
        var z = Vector128.FusedMultiplyAdd(x, Vector128.Create(Log2E).AsSingle(), round);
        var n = z - round;
        var b = Vector128.FusedMultiplyAdd(-n, Vector128.Create(Ln2Lo).AsSingle(),
            Vector128.FusedMultiplyAdd(-n, Vector128.Create(Ln2Hi).AsSingle(), x));
        var u = b * b;
        var j = Vector128.FusedMultiplyAdd(
            Vector128.FusedMultiplyAdd(
                Vector128.FusedMultiplyAdd(Vector128.Create(P0).AsSingle(), b, Vector128.Create(P1).AsSingle()),
                u,
                Vector128.FusedMultiplyAdd(Vector128.Create(P2).AsSingle(), b, Vector128.Create(P3).AsSingle())),
            u,
            Vector128.FusedMultiplyAdd(Vector128.Create(P4).AsSingle(), b, Vector128<float>.One));
        return Finish128(n, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Neon(Vector128<float> x)
    {
        // AdvSimd.FusedMultiplyAdd(c, a, b) = c + a·b and FusedMultiplySubtract(c, a, b) = c − a·b, both one rounding:
        // the same values as fma(a, b, c) and fma(−a, b, c).
        var round = Vector128.Create(Round);
        var z = AdvSimd.FusedMultiplyAdd(round, x, Vector128.Create(Log2E).AsSingle());
        var n = z - round;
        var b = AdvSimd.FusedMultiplySubtract(
            AdvSimd.FusedMultiplySubtract(x, n, Vector128.Create(Ln2Hi).AsSingle()), n, Vector128.Create(Ln2Lo).AsSingle());
        var u = b * b;
        var j = AdvSimd.FusedMultiplyAdd(
            AdvSimd.FusedMultiplyAdd(Vector128<float>.One, Vector128.Create(P4).AsSingle(), b),
            AdvSimd.FusedMultiplyAdd(
                AdvSimd.FusedMultiplyAdd(Vector128.Create(P3).AsSingle(), Vector128.Create(P2).AsSingle(), b),
                AdvSimd.FusedMultiplyAdd(Vector128.Create(P1).AsSingle(), Vector128.Create(P0).AsSingle(), b),
                u),
            u);
        return Finish128(n, j);
    }

    /// <summary>j·2^n for |n| ≤ 192 (two exact-then-rounded multiplies), 0 or +inf beyond, as ExpF.Ggml.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Finish128(Vector128<float> n, Vector128<float> j)
    {
        var ni = Vector128.ConvertToInt32(n);
        var half = ni >> 1;
        var s1 = ((half + Vector128.Create(127)) << 23).AsSingle();
        var s2 = ((ni - half + Vector128.Create(127)) << 23).AsSingle();
        var res = j * s1 * s2;
        var far = Vector128.GreaterThan(Vector128.Abs(n), Vector128.Create(Cutoff));
        var alt = Vector128.ConditionalSelect(Vector128.LessThanOrEqual(n, Vector128<float>.Zero),
            Vector128<float>.Zero, Vector128.Create(float.PositiveInfinity));
        return Vector128.ConditionalSelect(far, alt, res);
    }
}
