// The parts every SIMD path of the float dots shares with the spec: the leftovers past the last whole 64-element
// step (added one by one in double, each product rounded to fp32 first, exactly as FloatDotOrder.Dot does) and the
// last steps of the reduction tree once the vector accumulators have been folded down to four lanes.
using System.Runtime.CompilerServices;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static unsafe class FloatDotTail
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F32(float* w, float* a, int start, int n, double sum)
    {
        for (int i = start; i < n; i++) sum += w[i] * a[i];
        return (float)sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F16(ushort* w, ushort* a, int start, int n, double sum)
    {
        for (int i = start; i < n; i++) sum += Fp16.ToFloat(w[i]) * Fp16.ToFloat(a[i]);
        return (float)sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16(ushort* w, ushort* a, int start, int n, double sum)
    {
        for (int i = start; i < n; i++) sum += Fp16.BF16ToFloat(w[i]) * Fp16.BF16ToFloat(a[i]);
        return (float)sum;
    }

    /// <summary>Hsum8's last steps, t[i] = l[i] + l[i+4] then (t0 + t2) + (t1 + t3), when the eight lanes l are held
    /// split by parity: even = (l0, l2, l4, l6), odd = (l1, l3, l5, l7) — the layout the 16-bit dots accumulate in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Hsum8EvenOdd(float e0, float e1, float e2, float e3, float o0, float o1, float o2, float o3)
    {
        float t0 = e0 + e2, t1 = o0 + o2, t2 = e1 + e3, t3 = o1 + o3;
        return (t0 + t2) + (t1 + t3);
    }

    /// <summary>Hsum8's last steps on t = (l0..l3) + (l4..l7) already formed: (t0 + t2) + (t1 + t3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Hsum4(float t0, float t1, float t2, float t3) => (t0 + t2) + (t1 + t3);
}
