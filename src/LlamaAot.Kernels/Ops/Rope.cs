// Rotary position embedding from a cos/sin table computed once per context.
// theta(pos, i) = freq_scale · pos · base^(−2i/n_dims), built by repeated multiplication in fp32 exactly as
// ggml's rope cache does so the angles carry the same rounding as the reference.
namespace LlamaAot.Kernels.Ops;

/// <summary>cos/sin of every (position, pair) for one rope dimension count, laid out [pos][pair].</summary>
public sealed unsafe class RopeTable : IDisposable
{
    public RopeTable(int maxPositions, int nDims, float freqBase, float freqScale)
    {
        MaxPositions = maxPositions;
        Pairs = nDims / 2;
        long count = (long)maxPositions * Pairs;
        Cos = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(count * 4), 64);
        Sin = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(count * 4), 64);
        float thetaScale = MathF.Pow(freqBase, -2.0f / nDims);
        for (int p = 0; p < maxPositions; p++)
        {
            float theta = freqScale * p;
            for (int i = 0; i < Pairs; i++)
            {
                Cos[(long)p * Pairs + i] = MathF.Cos(theta);
                Sin[(long)p * Pairs + i] = MathF.Sin(theta);
                theta *= thetaScale;
            }
        }
    }

    public int MaxPositions { get; }
    public int Pairs { get; }
    public float* Cos { get; private set; }
    public float* Sin { get; private set; }

    public void Dispose()
    {
        System.Runtime.InteropServices.NativeMemory.AlignedFree(Cos);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(Sin);
        Cos = Sin = null;
    }
}

/// <summary>The rotation is written as the fused form GCC emits for ggml's rotate_pairs
/// (x0·cos − x1·sin with one fma, x0·sin + x1·cos with one fma), which is what llama.cpp computes.</summary>
public static unsafe partial class Rope
{
    /// <summary>Adjacent pairs (x[2i], x[2i+1]) rotated by theta(pos, i) — ggml's "normal" mode used by llama GGUFs.
    /// Applied to each of <paramref name="heads"/> vectors of length headDim; only the first 2·Pairs dims rotate.</summary>
    public static void AdjacentReference(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        for (int h = 0; h < heads; h++) AdjacentPairs(x + h * headDim, cos, sin, 0, pairs);
    }

    /// <summary>NeoX pairing: (x[i], x[i + n_dims/2]) rotate together.</summary>
    public static void NeoxReference(float* x, int heads, int headDim, float* cos, float* sin, int pairs)
    {
        for (int h = 0; h < heads; h++) NeoxPairs(x + h * headDim, cos, sin, 0, pairs, pairs);
    }

    /// <summary>Every path's head loop: `steps` rotates the pairs it can in vectors from pair 0 and returns where it
    /// stopped; the spec's loop (AdjacentPairs or NeoxPairs) finishes the head.</summary>
    internal static void Heads(float* x, int heads, int headDim, float* cos, float* sin, int pairs, bool neox,
        delegate*<float*, float*, float*, int, int> steps)
    {
        for (int h = 0; h < heads; h++)
        {
            float* v = x + h * headDim;
            int i = steps(v, cos, sin, pairs);
            if (neox) NeoxPairs(v, cos, sin, i, pairs, pairs);
            else AdjacentPairs(v, cos, sin, i, pairs);
        }
    }

    /// <summary>Pairs [from, to) of one head vector v in the adjacent pairing: the spec, and every path's tail.</summary>
    internal static void AdjacentPairs(float* v, float* cos, float* sin, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            float x0 = v[2 * i], x1 = v[2 * i + 1];
            v[2 * i] = MathF.FusedMultiplyAdd(x0, cos[i], -(x1 * sin[i]));
            v[2 * i + 1] = MathF.FusedMultiplyAdd(x0, sin[i], x1 * cos[i]);
        }
    }

    /// <summary>Pairs [from, to) of one head vector v in the NeoX pairing (partner `half` elements on).</summary>
    internal static void NeoxPairs(float* v, float* cos, float* sin, int from, int to, int half)
    {
        for (int i = from; i < to; i++)
        {
            float x0 = v[i], x1 = v[i + half];
            v[i] = MathF.FusedMultiplyAdd(x0, cos[i], -(x1 * sin[i]));
            v[i + half] = MathF.FusedMultiplyAdd(x0, sin[i], x1 * cos[i]);
        }
    }
}
