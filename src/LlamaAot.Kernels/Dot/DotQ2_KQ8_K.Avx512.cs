// AVX-512 VNNI Q2_K · Q8_K decode in the AVX2 blockwise dot's arithmetic (DotQ2_KQ8_K.Avx2Blockwise): the emitted row
// kernel (Jit/VnniDecode.EmitQ2_K) runs a row's two scalar chains, KQuantVnniRows.Decode takes acc − accm. Prompts and
// the Reference-order dot stay AVX2.
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ2_KQ8_K
{
    /// <summary>Row-range product in the blockwise order on the AVX-512 path: decode through the emitted kernel, prompts
    /// as GemmAvx2Blockwise. Decode on Zen 5, one thread: 512×2048 from L2 14.3 → 23–25 GB/s, 2048×5632 from DRAM 14.3 →
    /// 20–24 GB/s against the AVX2 dot.</summary>
    public static void GemmAvx512VnniBlockwise(MatMulArgs* m, int start, int end)
    {
        if (KQuantVnniRows.DecodeAvailable(m, 0))
            KQuantVnniRows.Decode(m, start, end, &VnniDecode.Q2_KChains, KQuantVnniRows.DecodeFinish.Difference, null, 0);
        else GemmAvx2Blockwise(m, start, end);
    }
}
