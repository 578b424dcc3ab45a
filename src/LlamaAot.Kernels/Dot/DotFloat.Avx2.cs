// AVX2 float dots: each of the spec's 16-lane accumulators is two ymm registers (eight in all), with the same fma per
// lane per step as Reference. F16/BF16 split 16 halves by parity as the AVX-512 path does (see DotFloat.Avx512.cs);
// the finishes below walk the spec's reduction tree in the resulting layouts.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static class FloatDotAvx2
{
    /// <summary>Accumulator v holds spec slots 8v..8v+7. T = slot e + slot e+32 pairs v with v+4; S(e) = T(e) +
    /// T(e+16) pairs v with v+2; then Reduce16's l = S(0..7) + S(8..15) and Hsum8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Finish(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3,
        Vector256<float> a4, Vector256<float> a5, Vector256<float> a6, Vector256<float> a7)
    {
        var l = ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7));
        var t = l.GetLower() + l.GetUpper();
        return FloatDotTail.Hsum4(t[0], t[1], t[2], t[3]);
    }

    /// <summary>Parity layout: e_u/o_u hold slots 16u+2j / 16u+2j+1 (j &lt; 8). T pairs u with u+2, S pairs u with
    /// u+1 (slots e and e+16), and l[i] = S(i) + S(i+8) pairs lane j with lane j+4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FinishEvenOdd(Vector256<float> e0, Vector256<float> o0, Vector256<float> e1, Vector256<float> o1,
        Vector256<float> e2, Vector256<float> o2, Vector256<float> e3, Vector256<float> o3)
    {
        var e = (e0 + e2) + (e1 + e3);
        var o = (o0 + o2) + (o1 + o3);
        var e4 = e.GetLower() + e.GetUpper();
        var o4 = o.GetLower() + o.GetUpper();
        return FloatDotTail.Hsum8EvenOdd(e4[0], e4[1], e4[2], e4[3], o4[0], o4[1], o4[2], o4[3]);
    }
}

public static unsafe partial class DotF32F32
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        float* x = (float*)w, y = (float*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
            for (int i = 0; i < np; i += 64)
            {
                a0 = Fma.MultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), a0);
                a1 = Fma.MultiplyAdd(Vector256.Load(x + i + 8), Vector256.Load(y + i + 8), a1);
                a2 = Fma.MultiplyAdd(Vector256.Load(x + i + 16), Vector256.Load(y + i + 16), a2);
                a3 = Fma.MultiplyAdd(Vector256.Load(x + i + 24), Vector256.Load(y + i + 24), a3);
                a4 = Fma.MultiplyAdd(Vector256.Load(x + i + 32), Vector256.Load(y + i + 32), a4);
                a5 = Fma.MultiplyAdd(Vector256.Load(x + i + 40), Vector256.Load(y + i + 40), a5);
                a6 = Fma.MultiplyAdd(Vector256.Load(x + i + 48), Vector256.Load(y + i + 48), a6);
                a7 = Fma.MultiplyAdd(Vector256.Load(x + i + 56), Vector256.Load(y + i + 56), a7);
            }
            sum = FloatDotAvx2.Finish(a0, a1, a2, a3, a4, a5, a6, a7);
        }
        return FloatDotTail.F32(x, y, np, n, sum);
    }
}

public static unsafe partial class DotF16F16
{
    /// <summary>The scaled widening of DotF16F16.Avx512 (w·2^-112 with no multiply, a·2^112 with two; exact
    /// products), inf/NaN rows redone by Avx2Exact.</summary>
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            var magnitude = Vector256.Create((ushort)0x7fff);
            var seen = Vector256<ushort>.Zero;
            Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default;
            Vector256<float> e2 = default, o2 = default, e3 = default, o3 = default;
            for (int i = 0; i < np; i += 64)
            {
                var w0 = Vector256.Load((int*)(x + i));
                var a0 = Vector256.Load((int*)(y + i));
                e0 = Fma.MultiplyAdd(Fp16Vector.HalfHiScaledDown(w0 << 16), Fp16Vector.HalfHiScaledUp(a0 << 16), e0);
                o0 = Fma.MultiplyAdd(Fp16Vector.HalfHiScaledDown(w0), Fp16Vector.HalfHiScaledUp(a0), o0);
                var w1 = Vector256.Load((int*)(x + i + 16));
                var a1 = Vector256.Load((int*)(y + i + 16));
                seen = Vector256.Max(seen, Vector256.Max(w0.AsUInt16() & magnitude, w1.AsUInt16() & magnitude));
                e1 = Fma.MultiplyAdd(Fp16Vector.HalfHiScaledDown(w1 << 16), Fp16Vector.HalfHiScaledUp(a1 << 16), e1);
                o1 = Fma.MultiplyAdd(Fp16Vector.HalfHiScaledDown(w1), Fp16Vector.HalfHiScaledUp(a1), o1);
                var w2 = Vector256.Load((int*)(x + i + 32));
                var a2 = Vector256.Load((int*)(y + i + 32));
                e2 = Fma.MultiplyAdd(Fp16Vector.HalfHiScaledDown(w2 << 16), Fp16Vector.HalfHiScaledUp(a2 << 16), e2);
                o2 = Fma.MultiplyAdd(Fp16Vector.HalfHiScaledDown(w2), Fp16Vector.HalfHiScaledUp(a2), o2);
                var w3 = Vector256.Load((int*)(x + i + 48));
                var a3 = Vector256.Load((int*)(y + i + 48));
                seen = Vector256.Max(seen, Vector256.Max(w2.AsUInt16() & magnitude, w3.AsUInt16() & magnitude));
                e3 = Fma.MultiplyAdd(Fp16Vector.HalfHiScaledDown(w3 << 16), Fp16Vector.HalfHiScaledUp(a3 << 16), e3);
                o3 = Fma.MultiplyAdd(Fp16Vector.HalfHiScaledDown(w3), Fp16Vector.HalfHiScaledUp(a3), o3);
            }
            float s = FloatDotAvx2.FinishEvenOdd(e0, o0, e1, o1, e2, o2, e3, o3);
            if (!float.IsFinite(s) || Vector256.GreaterThanOrEqualAny(seen, Vector256.Create((ushort)0x7c00))) return Avx2Exact(w, a, n);
            sum = s;
        }
        return FloatDotTail.F16(x, y, np, n, sum);
    }

    /// <summary>Every fp16 widened exactly (inf/NaN included): the path for rows that hold an inf or NaN.</summary>
    private static float Avx2Exact(byte* w, byte* a, int n)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default;
        Vector256<float> e2 = default, o2 = default, e3 = default, o3 = default;
        for (int i = 0; i < np; i += 64)
        {
            var w0 = Vector256.Load((int*)(x + i));
            var a0 = Vector256.Load((int*)(y + i));
            e0 = Fma.MultiplyAdd(Fp16Vector.HalfHiToSingleArith(w0 << 16), Fp16Vector.HalfHiToSingleArith(a0 << 16), e0);
            o0 = Fma.MultiplyAdd(Fp16Vector.HalfHiToSingleArith(w0), Fp16Vector.HalfHiToSingleArith(a0), o0);
            var w1 = Vector256.Load((int*)(x + i + 16));
            var a1 = Vector256.Load((int*)(y + i + 16));
            e1 = Fma.MultiplyAdd(Fp16Vector.HalfHiToSingleArith(w1 << 16), Fp16Vector.HalfHiToSingleArith(a1 << 16), e1);
            o1 = Fma.MultiplyAdd(Fp16Vector.HalfHiToSingleArith(w1), Fp16Vector.HalfHiToSingleArith(a1), o1);
            var w2 = Vector256.Load((int*)(x + i + 32));
            var a2 = Vector256.Load((int*)(y + i + 32));
            e2 = Fma.MultiplyAdd(Fp16Vector.HalfHiToSingleArith(w2 << 16), Fp16Vector.HalfHiToSingleArith(a2 << 16), e2);
            o2 = Fma.MultiplyAdd(Fp16Vector.HalfHiToSingleArith(w2), Fp16Vector.HalfHiToSingleArith(a2), o2);
            var w3 = Vector256.Load((int*)(x + i + 48));
            var a3 = Vector256.Load((int*)(y + i + 48));
            e3 = Fma.MultiplyAdd(Fp16Vector.HalfHiToSingleArith(w3 << 16), Fp16Vector.HalfHiToSingleArith(a3 << 16), e3);
            o3 = Fma.MultiplyAdd(Fp16Vector.HalfHiToSingleArith(w3), Fp16Vector.HalfHiToSingleArith(a3), o3);
        }
        return FloatDotTail.F16(x, y, np, n, FloatDotAvx2.FinishEvenOdd(e0, o0, e1, o1, e2, o2, e3, o3));
    }
}

public static unsafe partial class DotBF16BF16
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            var hi = Vector256.Create(unchecked((int)0xffff0000));
            Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default;
            Vector256<float> e2 = default, o2 = default, e3 = default, o3 = default;
            for (int i = 0; i < np; i += 64)
            {
                var w0 = Vector256.Load((int*)(x + i));
                var a0 = Vector256.Load((int*)(y + i));
                e0 = Fma.MultiplyAdd((w0 << 16).AsSingle(), (a0 << 16).AsSingle(), e0);
                o0 = Fma.MultiplyAdd((w0 & hi).AsSingle(), (a0 & hi).AsSingle(), o0);
                var w1 = Vector256.Load((int*)(x + i + 16));
                var a1 = Vector256.Load((int*)(y + i + 16));
                e1 = Fma.MultiplyAdd((w1 << 16).AsSingle(), (a1 << 16).AsSingle(), e1);
                o1 = Fma.MultiplyAdd((w1 & hi).AsSingle(), (a1 & hi).AsSingle(), o1);
                var w2 = Vector256.Load((int*)(x + i + 32));
                var a2 = Vector256.Load((int*)(y + i + 32));
                e2 = Fma.MultiplyAdd((w2 << 16).AsSingle(), (a2 << 16).AsSingle(), e2);
                o2 = Fma.MultiplyAdd((w2 & hi).AsSingle(), (a2 & hi).AsSingle(), o2);
                var w3 = Vector256.Load((int*)(x + i + 48));
                var a3 = Vector256.Load((int*)(y + i + 48));
                e3 = Fma.MultiplyAdd((w3 << 16).AsSingle(), (a3 << 16).AsSingle(), e3);
                o3 = Fma.MultiplyAdd((w3 & hi).AsSingle(), (a3 & hi).AsSingle(), o3);
            }
            sum = FloatDotAvx2.FinishEvenOdd(e0, o0, e1, o1, e2, o2, e3, o3);
        }
        return FloatDotTail.BF16(x, y, np, n, sum);
    }
}
