// Horizontal sums in the exact order ggml's x86 code performs them. The dot kernels' specifications fix their
// summation order to ggml's AVX2/AVX-512 one, so that our logits equal llama.cpp's bit for bit and every SIMD path
// can be checked for exact equality against Reference.
using System.Runtime.CompilerServices;

namespace LlamaAot.Kernels.Dot;

public static unsafe class Reductions
{
    /// <summary>hsum_float_8: (lo128 + hi128), then (0+2, 1+3), then lane0 + lane1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Hsum8(float* a)
    {
        float t0 = a[0] + a[4], t1 = a[1] + a[5], t2 = a[2] + a[6], t3 = a[3] + a[7];
        return (t0 + t2) + (t1 + t3);
    }

    /// <summary>_mm512_reduce_add_ps as GCC expands it: 16 → 8 (lo + hi), then the hsum_float_8 tree.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Reduce16(float* a)
    {
        float* l = stackalloc float[8];
        for (int i = 0; i < 8; i++) l[i] = a[i] + a[i + 8];
        return Hsum8(l);
    }
}
