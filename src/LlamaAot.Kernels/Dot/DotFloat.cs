// Dot products of float weights. As in ggml, F16 and BF16 weights meet activations rounded to the same type
// (ggml's vec_dot_type), F32 weights meet fp32 activations. The summation order is ggml_vec_dot_f32/f16's on
// AVX-512: four 16-lane fma accumulators over 64-element steps, folded (0+2, 1+3), then 0+1, then
// _mm512_reduce_add_ps; leftover elements are added one by one in double.
using System.Runtime.CompilerServices;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static unsafe class FloatDotOrder
{
    public const int Step = 64;

    /// <summary>The shared spec; <paramref name="load"/> widens element i of an operand to fp32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(byte* w, byte* a, int n, delegate*<byte*, int, float> load)
    {
        double sum = 0;
        int np = n & ~(Step - 1);
        if (np > 0)
        {
            float* acc = stackalloc float[Step];
            for (int i = 0; i < Step; i++) acc[i] = 0;
            for (int i = 0; i < np; i += Step)
            {
                for (int k = 0; k < Step; k++) acc[k] = MathF.FusedMultiplyAdd(load(w, i + k), load(a, i + k), acc[k]);
            }
            for (int e = 0; e < 16; e++)
            {
                acc[e] += acc[32 + e];
                acc[16 + e] += acc[48 + e];
            }
            for (int e = 0; e < 16; e++) acc[e] += acc[16 + e];
            sum = Reductions.Reduce16(acc);
        }
        for (int i = np; i < n; i++) sum += load(w, i) * load(a, i);
        return (float)sum;
    }

    public static float LoadF32(byte* p, int i) => ((float*)p)[i];
    public static float LoadF16(byte* p, int i) => Fp16.ToFloat(((ushort*)p)[i]);
    public static float LoadBF16(byte* p, int i) => Fp16.BF16ToFloat(((ushort*)p)[i]);
}

public static unsafe partial class DotF32F32
{
    /// <summary>Spec: Σ w_i·a_i in ggml_vec_dot_f32's order (see the file header).</summary>
    public static float Reference(byte* w, byte* a, int n) => FloatDotOrder.Dot(w, a, n, &FloatDotOrder.LoadF32);
}

public static unsafe partial class DotF16F16
{
    /// <summary>Spec: Σ f32(w_i)·f32(a_i) over fp16 operands in ggml_vec_dot_f16's order.</summary>
    public static float Reference(byte* w, byte* a, int n) => FloatDotOrder.Dot(w, a, n, &FloatDotOrder.LoadF16);
}

public static unsafe partial class DotBF16BF16
{
    /// <summary>Spec: Σ f32(w_i)·f32(a_i) over bf16 operands, same order as the other float dots.</summary>
    public static float Reference(byte* w, byte* a, int n) => FloatDotOrder.Dot(w, a, n, &FloatDotOrder.LoadBF16);
}
