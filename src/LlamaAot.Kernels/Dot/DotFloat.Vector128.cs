// Vector128 float dots (any CPU where Vector128 is hardware accelerated): each of the spec's 16-lane accumulators is
// four 128-bit registers (sixteen in all), with the same fma per lane per step as Reference (Vector128.FusedMultiplyAdd
// is always fused). F16/BF16 split 8 halves by parity as the AVX-512 path does (see DotFloat.Avx512.cs).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static class FloatDotV128
{
    /// <summary>Accumulator v holds spec slots 4v..4v+3. T (slot e + slot e+32) pairs v with v+8, S(e) = T(e) +
    /// T(e+16) pairs v with v+4, Reduce16's l = S(0..7) + S(8..15) pairs v with v+2, and Hsum8's t = l(0..3) +
    /// l(4..7) pairs v with v+1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Finish(Vector128<float> a0, Vector128<float> a1, Vector128<float> a2, Vector128<float> a3,
        Vector128<float> a4, Vector128<float> a5, Vector128<float> a6, Vector128<float> a7,
        Vector128<float> a8, Vector128<float> a9, Vector128<float> a10, Vector128<float> a11,
        Vector128<float> a12, Vector128<float> a13, Vector128<float> a14, Vector128<float> a15)
    {
        var s0 = (a0 + a8) + (a4 + a12);
        var s1 = (a1 + a9) + (a5 + a13);
        var s2 = (a2 + a10) + (a6 + a14);
        var s3 = (a3 + a11) + (a7 + a15);
        var t = (s0 + s2) + (s1 + s3);
        return FloatDotTail.Hsum4(t[0], t[1], t[2], t[3]);
    }

    /// <summary>Parity layout: e_u/o_u hold slots 8u+2j / 8u+2j+1 (j &lt; 4). T pairs u with u+4, S pairs u with
    /// u+2, Reduce16's l[i] = S(i) + S(i+8) pairs u with u+1; what is left is Hsum8 on l split by parity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FinishEvenOdd(Vector128<float> e0, Vector128<float> e1, Vector128<float> e2, Vector128<float> e3,
        Vector128<float> e4, Vector128<float> e5, Vector128<float> e6, Vector128<float> e7,
        Vector128<float> o0, Vector128<float> o1, Vector128<float> o2, Vector128<float> o3,
        Vector128<float> o4, Vector128<float> o5, Vector128<float> o6, Vector128<float> o7)
    {
        var e = ((e0 + e4) + (e2 + e6)) + ((e1 + e5) + (e3 + e7));
        var o = ((o0 + o4) + (o2 + o6)) + ((o1 + o5) + (o3 + o7));
        return FloatDotTail.Hsum8EvenOdd(e[0], e[1], e[2], e[3], o[0], o[1], o[2], o[3]);
    }
}

public static unsafe partial class DotF32F32
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        float* x = (float*)w, y = (float*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector128<float> a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
            for (int i = 0; i < np; i += 64)
            {
                a0 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 0), Vector128.Load(y + i + 0), a0);
                a1 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 4), Vector128.Load(y + i + 4), a1);
                a2 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 8), Vector128.Load(y + i + 8), a2);
                a3 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 12), Vector128.Load(y + i + 12), a3);
                a4 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 16), Vector128.Load(y + i + 16), a4);
                a5 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 20), Vector128.Load(y + i + 20), a5);
                a6 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 24), Vector128.Load(y + i + 24), a6);
                a7 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 28), Vector128.Load(y + i + 28), a7);
                a8 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 32), Vector128.Load(y + i + 32), a8);
                a9 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 36), Vector128.Load(y + i + 36), a9);
                a10 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 40), Vector128.Load(y + i + 40), a10);
                a11 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 44), Vector128.Load(y + i + 44), a11);
                a12 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 48), Vector128.Load(y + i + 48), a12);
                a13 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 52), Vector128.Load(y + i + 52), a13);
                a14 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 56), Vector128.Load(y + i + 56), a14);
                a15 = Vector128.FusedMultiplyAdd(Vector128.Load(x + i + 60), Vector128.Load(y + i + 60), a15);
            }
            sum = FloatDotV128.Finish(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
        }
        return FloatDotTail.F32(x, y, np, n, sum);
    }
}

public static unsafe partial class DotF16F16
{
    /// <summary>The scaled widening of DotF16F16.Avx512 (w·2^-112 with no multiply, a·2^112 with two; exact
    /// products), inf/NaN rows redone by V128Exact.</summary>
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            var magnitude = Vector128.Create((ushort)0x7fff);
            var seen = Vector128<ushort>.Zero;
            Vector128<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
            Vector128<float> o0 = default, o1 = default, o2 = default, o3 = default, o4 = default, o5 = default, o6 = default, o7 = default;
            for (int i = 0; i < np; i += 64)
            {
                var w0 = Vector128.Load((int*)(x + i));
                var a0 = Vector128.Load((int*)(y + i));
                e0 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w0 << 16), Fp16Vector.HalfHiScaledUp(a0 << 16), e0);
                o0 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w0), Fp16Vector.HalfHiScaledUp(a0), o0);
                var w1 = Vector128.Load((int*)(x + i + 8));
                var a1 = Vector128.Load((int*)(y + i + 8));
                seen = Vector128.Max(seen, Vector128.Max(w0.AsUInt16() & magnitude, w1.AsUInt16() & magnitude));
                e1 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w1 << 16), Fp16Vector.HalfHiScaledUp(a1 << 16), e1);
                o1 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w1), Fp16Vector.HalfHiScaledUp(a1), o1);
                var w2 = Vector128.Load((int*)(x + i + 16));
                var a2 = Vector128.Load((int*)(y + i + 16));
                e2 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w2 << 16), Fp16Vector.HalfHiScaledUp(a2 << 16), e2);
                o2 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w2), Fp16Vector.HalfHiScaledUp(a2), o2);
                var w3 = Vector128.Load((int*)(x + i + 24));
                var a3 = Vector128.Load((int*)(y + i + 24));
                seen = Vector128.Max(seen, Vector128.Max(w2.AsUInt16() & magnitude, w3.AsUInt16() & magnitude));
                e3 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w3 << 16), Fp16Vector.HalfHiScaledUp(a3 << 16), e3);
                o3 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w3), Fp16Vector.HalfHiScaledUp(a3), o3);
                var w4 = Vector128.Load((int*)(x + i + 32));
                var a4 = Vector128.Load((int*)(y + i + 32));
                e4 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w4 << 16), Fp16Vector.HalfHiScaledUp(a4 << 16), e4);
                o4 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w4), Fp16Vector.HalfHiScaledUp(a4), o4);
                var w5 = Vector128.Load((int*)(x + i + 40));
                var a5 = Vector128.Load((int*)(y + i + 40));
                seen = Vector128.Max(seen, Vector128.Max(w4.AsUInt16() & magnitude, w5.AsUInt16() & magnitude));
                e5 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w5 << 16), Fp16Vector.HalfHiScaledUp(a5 << 16), e5);
                o5 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w5), Fp16Vector.HalfHiScaledUp(a5), o5);
                var w6 = Vector128.Load((int*)(x + i + 48));
                var a6 = Vector128.Load((int*)(y + i + 48));
                e6 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w6 << 16), Fp16Vector.HalfHiScaledUp(a6 << 16), e6);
                o6 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w6), Fp16Vector.HalfHiScaledUp(a6), o6);
                var w7 = Vector128.Load((int*)(x + i + 56));
                var a7 = Vector128.Load((int*)(y + i + 56));
                seen = Vector128.Max(seen, Vector128.Max(w6.AsUInt16() & magnitude, w7.AsUInt16() & magnitude));
                e7 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w7 << 16), Fp16Vector.HalfHiScaledUp(a7 << 16), e7);
                o7 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiScaledDown(w7), Fp16Vector.HalfHiScaledUp(a7), o7);
            }
            float s = FloatDotV128.FinishEvenOdd(e0, e1, e2, e3, e4, e5, e6, e7, o0, o1, o2, o3, o4, o5, o6, o7);
            if (!float.IsFinite(s) || Vector128.GreaterThanOrEqualAny(seen, Vector128.Create((ushort)0x7c00))) return V128Exact(w, a, n);
            sum = s;
        }
        return FloatDotTail.F16(x, y, np, n, sum);
    }

    /// <summary>Every fp16 widened exactly (inf/NaN included): the path for rows that hold an inf or NaN.</summary>
    private static float V128Exact(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        Vector128<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
        Vector128<float> o0 = default, o1 = default, o2 = default, o3 = default, o4 = default, o5 = default, o6 = default, o7 = default;
        for (int i = 0; i < np; i += 64)
        {
            var w0 = Vector128.Load((int*)(x + i));
            var a0 = Vector128.Load((int*)(y + i));
            e0 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w0 << 16), Fp16Vector.HalfHiToSingleArith(a0 << 16), e0);
            o0 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w0), Fp16Vector.HalfHiToSingleArith(a0), o0);
            var w1 = Vector128.Load((int*)(x + i + 8));
            var a1 = Vector128.Load((int*)(y + i + 8));
            e1 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w1 << 16), Fp16Vector.HalfHiToSingleArith(a1 << 16), e1);
            o1 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w1), Fp16Vector.HalfHiToSingleArith(a1), o1);
            var w2 = Vector128.Load((int*)(x + i + 16));
            var a2 = Vector128.Load((int*)(y + i + 16));
            e2 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w2 << 16), Fp16Vector.HalfHiToSingleArith(a2 << 16), e2);
            o2 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w2), Fp16Vector.HalfHiToSingleArith(a2), o2);
            var w3 = Vector128.Load((int*)(x + i + 24));
            var a3 = Vector128.Load((int*)(y + i + 24));
            e3 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w3 << 16), Fp16Vector.HalfHiToSingleArith(a3 << 16), e3);
            o3 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w3), Fp16Vector.HalfHiToSingleArith(a3), o3);
            var w4 = Vector128.Load((int*)(x + i + 32));
            var a4 = Vector128.Load((int*)(y + i + 32));
            e4 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w4 << 16), Fp16Vector.HalfHiToSingleArith(a4 << 16), e4);
            o4 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w4), Fp16Vector.HalfHiToSingleArith(a4), o4);
            var w5 = Vector128.Load((int*)(x + i + 40));
            var a5 = Vector128.Load((int*)(y + i + 40));
            e5 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w5 << 16), Fp16Vector.HalfHiToSingleArith(a5 << 16), e5);
            o5 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w5), Fp16Vector.HalfHiToSingleArith(a5), o5);
            var w6 = Vector128.Load((int*)(x + i + 48));
            var a6 = Vector128.Load((int*)(y + i + 48));
            e6 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w6 << 16), Fp16Vector.HalfHiToSingleArith(a6 << 16), e6);
            o6 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w6), Fp16Vector.HalfHiToSingleArith(a6), o6);
            var w7 = Vector128.Load((int*)(x + i + 56));
            var a7 = Vector128.Load((int*)(y + i + 56));
            e7 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w7 << 16), Fp16Vector.HalfHiToSingleArith(a7 << 16), e7);
            o7 = Vector128.FusedMultiplyAdd(Fp16Vector.HalfHiToSingleArith(w7), Fp16Vector.HalfHiToSingleArith(a7), o7);
        }
        return FloatDotTail.F16(x, y, np, n, FloatDotV128.FinishEvenOdd(e0, e1, e2, e3, e4, e5, e6, e7, o0, o1, o2, o3, o4, o5, o6, o7));
    }
}

public static unsafe partial class DotBF16BF16
{
    public static float V128(byte* w, byte* a, int n)
    {
        if (!Vector128.IsHardwareAccelerated) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            var hi = Vector128.Create(unchecked((int)0xffff0000));
            Vector128<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
            Vector128<float> o0 = default, o1 = default, o2 = default, o3 = default, o4 = default, o5 = default, o6 = default, o7 = default;
            for (int i = 0; i < np; i += 64)
            {
                var w0 = Vector128.Load((int*)(x + i + 0));
                var a0 = Vector128.Load((int*)(y + i + 0));
                e0 = Vector128.FusedMultiplyAdd((w0 << 16).AsSingle(), (a0 << 16).AsSingle(), e0);
                o0 = Vector128.FusedMultiplyAdd((w0 & hi).AsSingle(), (a0 & hi).AsSingle(), o0);
                var w1 = Vector128.Load((int*)(x + i + 8));
                var a1 = Vector128.Load((int*)(y + i + 8));
                e1 = Vector128.FusedMultiplyAdd((w1 << 16).AsSingle(), (a1 << 16).AsSingle(), e1);
                o1 = Vector128.FusedMultiplyAdd((w1 & hi).AsSingle(), (a1 & hi).AsSingle(), o1);
                var w2 = Vector128.Load((int*)(x + i + 16));
                var a2 = Vector128.Load((int*)(y + i + 16));
                e2 = Vector128.FusedMultiplyAdd((w2 << 16).AsSingle(), (a2 << 16).AsSingle(), e2);
                o2 = Vector128.FusedMultiplyAdd((w2 & hi).AsSingle(), (a2 & hi).AsSingle(), o2);
                var w3 = Vector128.Load((int*)(x + i + 24));
                var a3 = Vector128.Load((int*)(y + i + 24));
                e3 = Vector128.FusedMultiplyAdd((w3 << 16).AsSingle(), (a3 << 16).AsSingle(), e3);
                o3 = Vector128.FusedMultiplyAdd((w3 & hi).AsSingle(), (a3 & hi).AsSingle(), o3);
                var w4 = Vector128.Load((int*)(x + i + 32));
                var a4 = Vector128.Load((int*)(y + i + 32));
                e4 = Vector128.FusedMultiplyAdd((w4 << 16).AsSingle(), (a4 << 16).AsSingle(), e4);
                o4 = Vector128.FusedMultiplyAdd((w4 & hi).AsSingle(), (a4 & hi).AsSingle(), o4);
                var w5 = Vector128.Load((int*)(x + i + 40));
                var a5 = Vector128.Load((int*)(y + i + 40));
                e5 = Vector128.FusedMultiplyAdd((w5 << 16).AsSingle(), (a5 << 16).AsSingle(), e5);
                o5 = Vector128.FusedMultiplyAdd((w5 & hi).AsSingle(), (a5 & hi).AsSingle(), o5);
                var w6 = Vector128.Load((int*)(x + i + 48));
                var a6 = Vector128.Load((int*)(y + i + 48));
                e6 = Vector128.FusedMultiplyAdd((w6 << 16).AsSingle(), (a6 << 16).AsSingle(), e6);
                o6 = Vector128.FusedMultiplyAdd((w6 & hi).AsSingle(), (a6 & hi).AsSingle(), o6);
                var w7 = Vector128.Load((int*)(x + i + 56));
                var a7 = Vector128.Load((int*)(y + i + 56));
                e7 = Vector128.FusedMultiplyAdd((w7 << 16).AsSingle(), (a7 << 16).AsSingle(), e7);
                o7 = Vector128.FusedMultiplyAdd((w7 & hi).AsSingle(), (a7 & hi).AsSingle(), o7);
            }
            sum = FloatDotV128.FinishEvenOdd(e0, e1, e2, e3, e4, e5, e6, e7, o0, o1, o2, o3, o4, o5, o6, o7);
        }
        return FloatDotTail.BF16(x, y, np, n, sum);
    }
}
