// AVX-512 float dots: the spec's four 16-lane accumulators are four zmm registers, one fma per lane per step, so
// every accumulator slot sees the same fma sequence as Reference and the result is bit-identical (F32 runs the AVX2
// loop instead, which streams faster: see DotF32F32.Avx512).
// F16/BF16 load 32 halves as 16 int lanes and split them by parity: lane j holds element 2j in its low half and 2j+1
// in its high half, so `r << 16` widens the even elements and `r` itself (low half ignored) the odd ones — one
// instruction per 16 bf16 lanes, no shuffles (fp16 needs more: see DotF16F16.Avx512). The accumulators then hold the
// spec's slots {0,2,…,30}, {1,3,…,31}, {32,34,…}, {33,35,…}; FinishEvenOdd walks the spec's reduction tree in that
// layout.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static class FloatDotAvx512
{
    /// <summary>(R0+R2) + (R1+R3), then _mm512_reduce_add_ps's tree (256-bit halves, 128-bit halves, (0+2)+(1+3)),
    /// for accumulators holding spec slots 0-15, 16-31, 32-47, 48-63 in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Finish(Vector512<float> r0, Vector512<float> r1, Vector512<float> r2, Vector512<float> r3)
    {
        var s = (r0 + r2) + (r1 + r3);
        var l = s.GetLower() + s.GetUpper();
        var t = l.GetLower() + l.GetUpper();
        return FloatDotTail.Hsum4(t[0], t[1], t[2], t[3]);
    }

    /// <summary>The same tree for the parity layout: e0/o0 hold slots 2j/2j+1 (j &lt; 16), e1/o1 slots 32+2j/33+2j.
    /// T(e) = acc[e] + acc[e+32] is e0+e1 / o0+o1 lane-wise; S(e) = T(e) + T(e+16) pairs lane j with lane j+8
    /// (256-bit halves); Reduce16's l[i] = S(i) + S(i+8) pairs lane j with j+4 (128-bit halves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FinishEvenOdd(Vector512<float> e0, Vector512<float> o0, Vector512<float> e1, Vector512<float> o1)
    {
        var e = e0 + e1;
        var o = o0 + o1;
        var e8 = e.GetLower() + e.GetUpper();
        var o8 = o.GetLower() + o.GetUpper();
        var e4 = e8.GetLower() + e8.GetUpper();
        var o4 = o8.GetLower() + o8.GetUpper();
        return FloatDotTail.Hsum8EvenOdd(e4[0], e4[1], e4[2], e4[3], o4[0], o4[1], o4[2], o4[3]);
    }
}

public static unsafe partial class DotF32F32
{
    /// <summary>The AVX2 loop (two ymm per spec accumulator; same fmas, same result). F32 rows are bandwidth-bound and
    /// on Zen 4 the zmm form of this loop streamed ~20% slower from DRAM (15-19 vs 21-25 GB/s on 5632×2048, with or
    /// without unrolling or software prefetch), so the 512-bit form is kept as Avx512Zmm for
    /// measurement and for rows already in L1 (FlashAttention's widened keys).</summary>
    public static float Avx512(byte* w, byte* a, int n) => Avx2(w, a, n);

    public static float Avx512Zmm(byte* w, byte* a, int n)
    {
        if (!Avx512F.IsSupported) return Reference(w, a, n);
        float* x = (float*)w, y = (float*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            Vector512<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            for (int i = 0; i < np; i += 64)
            {
                acc0 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), acc0);
                acc1 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i + 16), Vector512.Load(y + i + 16), acc1);
                acc2 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i + 32), Vector512.Load(y + i + 32), acc2);
                acc3 = Avx512F.FusedMultiplyAdd(Vector512.Load(x + i + 48), Vector512.Load(y + i + 48), acc3);
            }
            sum = FloatDotAvx512.Finish(acc0, acc1, acc2, acc3);
        }
        return FloatDotTail.F32(x, y, np, n, sum);
    }
}

public static unsafe partial class DotF16F16
{
    /// <summary>Fast form of the spec's arithmetic: the weight widens to w·2^-112 with no multiply (its fp16 fields
    /// placed in an fp32), the activation to a·2^112 with one exact vscalefps by 2^224; their product is w·a exactly,
    /// so each fma rounds as Reference's. Weights that are inf/NaN would widen wrongly, so their presence is tracked (running
    /// max of |h|) and such rows are redone by AVX512Exact; an inf/NaN activation becomes ±inf and leaves the sum
    /// non-finite, which sends the row there too.</summary>
    public static float Avx512(byte* w, byte* a, int n)
    {
        if (!Avx512BW.IsSupported) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            var magnitude = Vector512.Create((ushort)0x7fff);
            var seen = Vector512<ushort>.Zero;
            var up = Vector512.Create(224f);
            Vector512<float> e0 = default, o0 = default, e1 = default, o1 = default;
            for (int i = 0; i < np; i += 64)
            {
                var w0 = Vector512.Load((int*)(x + i));
                var a0 = Vector512.Load((int*)(y + i));
                var w1 = Vector512.Load((int*)(x + i + 32));
                var a1 = Vector512.Load((int*)(y + i + 32));
                seen = Vector512.Max(seen, Vector512.Max(w0.AsUInt16() & magnitude, w1.AsUInt16() & magnitude));
                e0 = Avx512F.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w0 << 16), Avx512F.Scale(Fp16Vector.HalfHiScaledDown(a0 << 16), up), e0);
                o0 = Avx512F.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w0), Avx512F.Scale(Fp16Vector.HalfHiScaledDown(a0), up), o0);
                e1 = Avx512F.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w1 << 16), Avx512F.Scale(Fp16Vector.HalfHiScaledDown(a1 << 16), up), e1);
                o1 = Avx512F.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w1), Avx512F.Scale(Fp16Vector.HalfHiScaledDown(a1), up), o1);
            }
            float s = FloatDotAvx512.FinishEvenOdd(e0, o0, e1, o1);
            if (!float.IsFinite(s) || Vector512.GreaterThanOrEqualAny(seen, Vector512.Create((ushort)0x7c00))) return Avx512Exact(w, a, n);
            sum = s;
        }
        return FloatDotTail.F16(x, y, np, n, sum);
    }

    /// <summary>Every fp16 widened exactly (inf/NaN included): the path for rows that hold an inf or NaN.</summary>
    private static float Avx512Exact(byte* w, byte* a, int n)
    {
        if (!Avx512F.IsSupported) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        Vector512<float> e0 = default, o0 = default, e1 = default, o1 = default;
        for (int i = 0; i < np; i += 64)
        {
            var w0 = Vector512.Load((int*)(x + i));
            var a0 = Vector512.Load((int*)(y + i));
            var w1 = Vector512.Load((int*)(x + i + 32));
            var a1 = Vector512.Load((int*)(y + i + 32));
            e0 = Avx512F.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w0 << 16), Fp16Vector.HalfHiToSingleArith(a0 << 16), e0);
            o0 = Avx512F.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w0), Fp16Vector.HalfHiToSingleArith(a0), o0);
            e1 = Avx512F.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w1 << 16), Fp16Vector.HalfHiToSingleArith(a1 << 16), e1);
            o1 = Avx512F.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w1), Fp16Vector.HalfHiToSingleArith(a1), o1);
        }
        return FloatDotTail.F16(x, y, np, n, FloatDotAvx512.FinishEvenOdd(e0, o0, e1, o1));
    }
}

public static unsafe partial class DotBF16BF16
{
    public static float Avx512(byte* w, byte* a, int n)
    {
        if (!Avx512F.IsSupported) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            var hi = Vector512.Create(unchecked((int)0xffff0000));
            Vector512<float> e0 = default, o0 = default, e1 = default, o1 = default;
            for (int i = 0; i < np; i += 64)
            {
                var w0 = Vector512.Load((int*)(x + i));
                var a0 = Vector512.Load((int*)(y + i));
                var w1 = Vector512.Load((int*)(x + i + 32));
                var a1 = Vector512.Load((int*)(y + i + 32));
                e0 = Avx512F.FusedMultiplyAdd((w0 << 16).AsSingle(), (a0 << 16).AsSingle(), e0);
                o0 = Avx512F.FusedMultiplyAdd((w0 & hi).AsSingle(), (a0 & hi).AsSingle(), o0);
                e1 = Avx512F.FusedMultiplyAdd((w1 << 16).AsSingle(), (a1 << 16).AsSingle(), e1);
                o1 = Avx512F.FusedMultiplyAdd((w1 & hi).AsSingle(), (a1 & hi).AsSingle(), o1);
            }
            sum = FloatDotAvx512.FinishEvenOdd(e0, o0, e1, o1);
        }
        return FloatDotTail.BF16(x, y, np, n, sum);
    }
}
