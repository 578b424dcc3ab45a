// Q8_0 weights · Q8_0 activations.
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ8_0Q8_0
{
    private static int Weight(byte* block, int i) => ((sbyte*)(block + 2))[i];

    /// <summary>Spec: Σ d_w·d_a·q_w·q_a in llama.cpp's x86 order (<see cref="LegacyOrder"/>).</summary>
    public static float Reference(byte* w, byte* a, int n) =>
        LegacyOrder.Dot(w, sizeof(BlockQ8_0), a, sizeof(BlockQ8_0), 2, n, hasMin: false, &Weight);
}
