// Vector128 Q8_0 · Q8_0 dot: portable Vector128 operators only, so one source serves SSE and NEON machines.
//   The 8 spec lanes of a block are two Vector128<int> (elements 0..15 → lanes 0..3, 16..31 → lanes 4..7).
//   Integer part (IntDotV128.Quads): read the bytes as int16 lanes and split them by parity with shifts
//   (even = (v << 8) >> 8, odd = v >> 8, both sign-extended), multiply even·even and odd·odd in int16 and add — the
//   pair sums of elements (2i, 2i+1), exact since |w·a| ≤ 128·127 and a pair ≤ 32512 (activations in [-127, 127],
//   as QuantizeQ8_0 makes them). The same parity split on the int16 pair sums, now read as int32 lanes, adds the
//   two pairs of each quad: lane j = elements 4j..4j+3, the spec's lane, with no shuffles.
//   Float part: per block, acc_lo/acc_hi = fma(d, lanes, acc) (Vector128.FusedMultiplyAdd is always fused), then
//   Hsum8 — (acc_lo + acc_hi) is exactly Hsum8's first step.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

/// <summary>Vector128 building blocks of the Q8_0/Q4_0 dots; callers check Vector128.IsHardwareAccelerated.</summary>
internal static unsafe class IntDotV128
{
    /// <summary>Spec lanes of 16 element pairs: lane j = Σ x[i]·y[i], i = 4j..4j+3 (|x| ≤ 128, |y| ≤ 127).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Quads(Vector128<sbyte> x, Vector128<sbyte> y)
    {
        var xs = x.AsInt16();
        var ys = y.AsInt16();
        var pairs = ((xs << 8) >> 8) * ((ys << 8) >> 8) + (xs >> 8) * (ys >> 8);
        var p = pairs.AsInt32();
        return ((p << 16) >> 16) + (p >> 16);
    }

    /// <summary>d of a weight block times d of an activation block, as the spec forms it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Scale(byte* w, byte* a) => Fp16.ToFloat(*(ushort*)w) * Fp16.ToFloat(*(ushort*)a);

    /// <summary>Hsum8 of the lanes held as (0..3, 4..7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Hsum8(Vector128<float> lo, Vector128<float> hi)
    {
        var t = lo + hi;
        return (t.GetElement(0) + t.GetElement(2)) + (t.GetElement(1) + t.GetElement(3));
    }
}

public static unsafe partial class DotQ8_0Q8_0
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        var lo = Vector128<float>.Zero;
        var hi = Vector128<float>.Zero;
        for (int b = 0; b < n / BlockQ8_0.QK; b++, w += sizeof(BlockQ8_0), a += sizeof(BlockQ8_0))
        {
            var d = Vector128.Create(IntDotV128.Scale(w, a));
            var l0 = IntDotV128.Quads(Vector128.Load((sbyte*)(w + 2)), Vector128.Load((sbyte*)(a + 2)));
            var l1 = IntDotV128.Quads(Vector128.Load((sbyte*)(w + 18)), Vector128.Load((sbyte*)(a + 18)));
            lo = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l0), lo);
            hi = Vector128.FusedMultiplyAdd(d, Vector128.ConvertToSingle(l1), hi);
        }
        return IntDotV128.Hsum8(lo, hi);
    }
}
