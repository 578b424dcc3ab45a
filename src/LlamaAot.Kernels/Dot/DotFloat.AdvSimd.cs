// AdvSimd (NEON) float dots: the Vector128 layout (DotFloat.Vector128.cs) with fmla written as the AdvSimd
// intrinsic; AdvSimd.FusedMultiplyAdd takes the addend first. Not run by the x64 tests (IsSupported is false there);
// the lane layout, conversions and finishes are the Vector128 path's, which the tests do run.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotF32F32
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.IsSupported) return Reference(w, a, n);
        float* x = (float*)w, y = (float*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        double sum = 0;
        if (np > 0)
        {
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector128<float> a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
            for (int i = 0; i < np; i += 64)
            {
                a0 = AdvSimd.FusedMultiplyAdd(a0, Vector128.Load(x + i + 0), Vector128.Load(y + i + 0));
                a1 = AdvSimd.FusedMultiplyAdd(a1, Vector128.Load(x + i + 4), Vector128.Load(y + i + 4));
                a2 = AdvSimd.FusedMultiplyAdd(a2, Vector128.Load(x + i + 8), Vector128.Load(y + i + 8));
                a3 = AdvSimd.FusedMultiplyAdd(a3, Vector128.Load(x + i + 12), Vector128.Load(y + i + 12));
                a4 = AdvSimd.FusedMultiplyAdd(a4, Vector128.Load(x + i + 16), Vector128.Load(y + i + 16));
                a5 = AdvSimd.FusedMultiplyAdd(a5, Vector128.Load(x + i + 20), Vector128.Load(y + i + 20));
                a6 = AdvSimd.FusedMultiplyAdd(a6, Vector128.Load(x + i + 24), Vector128.Load(y + i + 24));
                a7 = AdvSimd.FusedMultiplyAdd(a7, Vector128.Load(x + i + 28), Vector128.Load(y + i + 28));
                a8 = AdvSimd.FusedMultiplyAdd(a8, Vector128.Load(x + i + 32), Vector128.Load(y + i + 32));
                a9 = AdvSimd.FusedMultiplyAdd(a9, Vector128.Load(x + i + 36), Vector128.Load(y + i + 36));
                a10 = AdvSimd.FusedMultiplyAdd(a10, Vector128.Load(x + i + 40), Vector128.Load(y + i + 40));
                a11 = AdvSimd.FusedMultiplyAdd(a11, Vector128.Load(x + i + 44), Vector128.Load(y + i + 44));
                a12 = AdvSimd.FusedMultiplyAdd(a12, Vector128.Load(x + i + 48), Vector128.Load(y + i + 48));
                a13 = AdvSimd.FusedMultiplyAdd(a13, Vector128.Load(x + i + 52), Vector128.Load(y + i + 52));
                a14 = AdvSimd.FusedMultiplyAdd(a14, Vector128.Load(x + i + 56), Vector128.Load(y + i + 56));
                a15 = AdvSimd.FusedMultiplyAdd(a15, Vector128.Load(x + i + 60), Vector128.Load(y + i + 60));
            }
            sum = FloatDotV128.Finish(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15);
        }
        return FloatDotTail.F32(x, y, np, n, sum);
    }
}

public static unsafe partial class DotF16F16
{
    /// <summary>The scaled widening of DotF16F16.Avx512 (w·2^-112 with no multiply, a·2^112 with two; exact
    /// products), inf/NaN rows redone by NeonExact.</summary>
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.IsSupported) return Reference(w, a, n);
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
                e0 = AdvSimd.FusedMultiplyAdd(e0, Fp16Vector.HalfHiScaledDown(w0 << 16), Fp16Vector.HalfHiScaledUp(a0 << 16));
                o0 = AdvSimd.FusedMultiplyAdd(o0, Fp16Vector.HalfHiScaledDown(w0), Fp16Vector.HalfHiScaledUp(a0));
                var w1 = Vector128.Load((int*)(x + i + 8));
                var a1 = Vector128.Load((int*)(y + i + 8));
                seen = Vector128.Max(seen, Vector128.Max(w0.AsUInt16() & magnitude, w1.AsUInt16() & magnitude));
                e1 = AdvSimd.FusedMultiplyAdd(e1, Fp16Vector.HalfHiScaledDown(w1 << 16), Fp16Vector.HalfHiScaledUp(a1 << 16));
                o1 = AdvSimd.FusedMultiplyAdd(o1, Fp16Vector.HalfHiScaledDown(w1), Fp16Vector.HalfHiScaledUp(a1));
                var w2 = Vector128.Load((int*)(x + i + 16));
                var a2 = Vector128.Load((int*)(y + i + 16));
                e2 = AdvSimd.FusedMultiplyAdd(e2, Fp16Vector.HalfHiScaledDown(w2 << 16), Fp16Vector.HalfHiScaledUp(a2 << 16));
                o2 = AdvSimd.FusedMultiplyAdd(o2, Fp16Vector.HalfHiScaledDown(w2), Fp16Vector.HalfHiScaledUp(a2));
                var w3 = Vector128.Load((int*)(x + i + 24));
                var a3 = Vector128.Load((int*)(y + i + 24));
                seen = Vector128.Max(seen, Vector128.Max(w2.AsUInt16() & magnitude, w3.AsUInt16() & magnitude));
                e3 = AdvSimd.FusedMultiplyAdd(e3, Fp16Vector.HalfHiScaledDown(w3 << 16), Fp16Vector.HalfHiScaledUp(a3 << 16));
                o3 = AdvSimd.FusedMultiplyAdd(o3, Fp16Vector.HalfHiScaledDown(w3), Fp16Vector.HalfHiScaledUp(a3));
                var w4 = Vector128.Load((int*)(x + i + 32));
                var a4 = Vector128.Load((int*)(y + i + 32));
                e4 = AdvSimd.FusedMultiplyAdd(e4, Fp16Vector.HalfHiScaledDown(w4 << 16), Fp16Vector.HalfHiScaledUp(a4 << 16));
                o4 = AdvSimd.FusedMultiplyAdd(o4, Fp16Vector.HalfHiScaledDown(w4), Fp16Vector.HalfHiScaledUp(a4));
                var w5 = Vector128.Load((int*)(x + i + 40));
                var a5 = Vector128.Load((int*)(y + i + 40));
                seen = Vector128.Max(seen, Vector128.Max(w4.AsUInt16() & magnitude, w5.AsUInt16() & magnitude));
                e5 = AdvSimd.FusedMultiplyAdd(e5, Fp16Vector.HalfHiScaledDown(w5 << 16), Fp16Vector.HalfHiScaledUp(a5 << 16));
                o5 = AdvSimd.FusedMultiplyAdd(o5, Fp16Vector.HalfHiScaledDown(w5), Fp16Vector.HalfHiScaledUp(a5));
                var w6 = Vector128.Load((int*)(x + i + 48));
                var a6 = Vector128.Load((int*)(y + i + 48));
                e6 = AdvSimd.FusedMultiplyAdd(e6, Fp16Vector.HalfHiScaledDown(w6 << 16), Fp16Vector.HalfHiScaledUp(a6 << 16));
                o6 = AdvSimd.FusedMultiplyAdd(o6, Fp16Vector.HalfHiScaledDown(w6), Fp16Vector.HalfHiScaledUp(a6));
                var w7 = Vector128.Load((int*)(x + i + 56));
                var a7 = Vector128.Load((int*)(y + i + 56));
                seen = Vector128.Max(seen, Vector128.Max(w6.AsUInt16() & magnitude, w7.AsUInt16() & magnitude));
                e7 = AdvSimd.FusedMultiplyAdd(e7, Fp16Vector.HalfHiScaledDown(w7 << 16), Fp16Vector.HalfHiScaledUp(a7 << 16));
                o7 = AdvSimd.FusedMultiplyAdd(o7, Fp16Vector.HalfHiScaledDown(w7), Fp16Vector.HalfHiScaledUp(a7));
            }
            float s = FloatDotV128.FinishEvenOdd(e0, e1, e2, e3, e4, e5, e6, e7, o0, o1, o2, o3, o4, o5, o6, o7);
            if (!float.IsFinite(s) || Vector128.GreaterThanOrEqualAny(seen, Vector128.Create((ushort)0x7c00))) return NeonExact(w, a, n);
            sum = s;
        }
        return FloatDotTail.F16(x, y, np, n, sum);
    }

    /// <summary>Every fp16 widened exactly (inf/NaN included): the path for rows that hold an inf or NaN.</summary>
    private static float NeonExact(byte* w, byte* a, int n)
    {
        if (!AdvSimd.IsSupported) return Reference(w, a, n);
        ushort* x = (ushort*)w, y = (ushort*)a;
        int np = n & ~(FloatDotOrder.Step - 1);
        Vector128<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default, e5 = default, e6 = default, e7 = default;
        Vector128<float> o0 = default, o1 = default, o2 = default, o3 = default, o4 = default, o5 = default, o6 = default, o7 = default;
        for (int i = 0; i < np; i += 64)
        {
            var w0 = Vector128.Load((int*)(x + i));
            var a0 = Vector128.Load((int*)(y + i));
            e0 = AdvSimd.FusedMultiplyAdd(e0, Fp16Vector.HalfHiToSingleArith(w0 << 16), Fp16Vector.HalfHiToSingleArith(a0 << 16));
            o0 = AdvSimd.FusedMultiplyAdd(o0, Fp16Vector.HalfHiToSingleArith(w0), Fp16Vector.HalfHiToSingleArith(a0));
            var w1 = Vector128.Load((int*)(x + i + 8));
            var a1 = Vector128.Load((int*)(y + i + 8));
            e1 = AdvSimd.FusedMultiplyAdd(e1, Fp16Vector.HalfHiToSingleArith(w1 << 16), Fp16Vector.HalfHiToSingleArith(a1 << 16));
            o1 = AdvSimd.FusedMultiplyAdd(o1, Fp16Vector.HalfHiToSingleArith(w1), Fp16Vector.HalfHiToSingleArith(a1));
            var w2 = Vector128.Load((int*)(x + i + 16));
            var a2 = Vector128.Load((int*)(y + i + 16));
            e2 = AdvSimd.FusedMultiplyAdd(e2, Fp16Vector.HalfHiToSingleArith(w2 << 16), Fp16Vector.HalfHiToSingleArith(a2 << 16));
            o2 = AdvSimd.FusedMultiplyAdd(o2, Fp16Vector.HalfHiToSingleArith(w2), Fp16Vector.HalfHiToSingleArith(a2));
            var w3 = Vector128.Load((int*)(x + i + 24));
            var a3 = Vector128.Load((int*)(y + i + 24));
            e3 = AdvSimd.FusedMultiplyAdd(e3, Fp16Vector.HalfHiToSingleArith(w3 << 16), Fp16Vector.HalfHiToSingleArith(a3 << 16));
            o3 = AdvSimd.FusedMultiplyAdd(o3, Fp16Vector.HalfHiToSingleArith(w3), Fp16Vector.HalfHiToSingleArith(a3));
            var w4 = Vector128.Load((int*)(x + i + 32));
            var a4 = Vector128.Load((int*)(y + i + 32));
            e4 = AdvSimd.FusedMultiplyAdd(e4, Fp16Vector.HalfHiToSingleArith(w4 << 16), Fp16Vector.HalfHiToSingleArith(a4 << 16));
            o4 = AdvSimd.FusedMultiplyAdd(o4, Fp16Vector.HalfHiToSingleArith(w4), Fp16Vector.HalfHiToSingleArith(a4));
            var w5 = Vector128.Load((int*)(x + i + 40));
            var a5 = Vector128.Load((int*)(y + i + 40));
            e5 = AdvSimd.FusedMultiplyAdd(e5, Fp16Vector.HalfHiToSingleArith(w5 << 16), Fp16Vector.HalfHiToSingleArith(a5 << 16));
            o5 = AdvSimd.FusedMultiplyAdd(o5, Fp16Vector.HalfHiToSingleArith(w5), Fp16Vector.HalfHiToSingleArith(a5));
            var w6 = Vector128.Load((int*)(x + i + 48));
            var a6 = Vector128.Load((int*)(y + i + 48));
            e6 = AdvSimd.FusedMultiplyAdd(e6, Fp16Vector.HalfHiToSingleArith(w6 << 16), Fp16Vector.HalfHiToSingleArith(a6 << 16));
            o6 = AdvSimd.FusedMultiplyAdd(o6, Fp16Vector.HalfHiToSingleArith(w6), Fp16Vector.HalfHiToSingleArith(a6));
            var w7 = Vector128.Load((int*)(x + i + 56));
            var a7 = Vector128.Load((int*)(y + i + 56));
            e7 = AdvSimd.FusedMultiplyAdd(e7, Fp16Vector.HalfHiToSingleArith(w7 << 16), Fp16Vector.HalfHiToSingleArith(a7 << 16));
            o7 = AdvSimd.FusedMultiplyAdd(o7, Fp16Vector.HalfHiToSingleArith(w7), Fp16Vector.HalfHiToSingleArith(a7));
        }
        return FloatDotTail.F16(x, y, np, n, FloatDotV128.FinishEvenOdd(e0, e1, e2, e3, e4, e5, e6, e7, o0, o1, o2, o3, o4, o5, o6, o7));
    }
}

public static unsafe partial class DotBF16BF16
{
    public static float Neon(byte* w, byte* a, int n)
    {
        if (!AdvSimd.IsSupported) return Reference(w, a, n);
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
                e0 = AdvSimd.FusedMultiplyAdd(e0, (w0 << 16).AsSingle(), (a0 << 16).AsSingle());
                o0 = AdvSimd.FusedMultiplyAdd(o0, (w0 & hi).AsSingle(), (a0 & hi).AsSingle());
                var w1 = Vector128.Load((int*)(x + i + 8));
                var a1 = Vector128.Load((int*)(y + i + 8));
                e1 = AdvSimd.FusedMultiplyAdd(e1, (w1 << 16).AsSingle(), (a1 << 16).AsSingle());
                o1 = AdvSimd.FusedMultiplyAdd(o1, (w1 & hi).AsSingle(), (a1 & hi).AsSingle());
                var w2 = Vector128.Load((int*)(x + i + 16));
                var a2 = Vector128.Load((int*)(y + i + 16));
                e2 = AdvSimd.FusedMultiplyAdd(e2, (w2 << 16).AsSingle(), (a2 << 16).AsSingle());
                o2 = AdvSimd.FusedMultiplyAdd(o2, (w2 & hi).AsSingle(), (a2 & hi).AsSingle());
                var w3 = Vector128.Load((int*)(x + i + 24));
                var a3 = Vector128.Load((int*)(y + i + 24));
                e3 = AdvSimd.FusedMultiplyAdd(e3, (w3 << 16).AsSingle(), (a3 << 16).AsSingle());
                o3 = AdvSimd.FusedMultiplyAdd(o3, (w3 & hi).AsSingle(), (a3 & hi).AsSingle());
                var w4 = Vector128.Load((int*)(x + i + 32));
                var a4 = Vector128.Load((int*)(y + i + 32));
                e4 = AdvSimd.FusedMultiplyAdd(e4, (w4 << 16).AsSingle(), (a4 << 16).AsSingle());
                o4 = AdvSimd.FusedMultiplyAdd(o4, (w4 & hi).AsSingle(), (a4 & hi).AsSingle());
                var w5 = Vector128.Load((int*)(x + i + 40));
                var a5 = Vector128.Load((int*)(y + i + 40));
                e5 = AdvSimd.FusedMultiplyAdd(e5, (w5 << 16).AsSingle(), (a5 << 16).AsSingle());
                o5 = AdvSimd.FusedMultiplyAdd(o5, (w5 & hi).AsSingle(), (a5 & hi).AsSingle());
                var w6 = Vector128.Load((int*)(x + i + 48));
                var a6 = Vector128.Load((int*)(y + i + 48));
                e6 = AdvSimd.FusedMultiplyAdd(e6, (w6 << 16).AsSingle(), (a6 << 16).AsSingle());
                o6 = AdvSimd.FusedMultiplyAdd(o6, (w6 & hi).AsSingle(), (a6 & hi).AsSingle());
                var w7 = Vector128.Load((int*)(x + i + 56));
                var a7 = Vector128.Load((int*)(y + i + 56));
                e7 = AdvSimd.FusedMultiplyAdd(e7, (w7 << 16).AsSingle(), (a7 << 16).AsSingle());
                o7 = AdvSimd.FusedMultiplyAdd(o7, (w7 & hi).AsSingle(), (a7 & hi).AsSingle());
            }
            sum = FloatDotV128.FinishEvenOdd(e0, e1, e2, e3, e4, e5, e6, e7, o0, o1, o2, o3, o4, o5, o6, o7);
        }
        return FloatDotTail.BF16(x, y, np, n, sum);
    }
}
