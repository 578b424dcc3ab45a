// Decode (batch 1) of Q8_0 matrices.
//   The spec's lanes run one fma chain per row across its blocks, so one row alone is bound by fma latency (4
//   cycles a 34-byte block: 32–34 GB/s from L2 on Zen 5, below what two cores can stream from DRAM). Decode
//   therefore runs four rows at once, each with its own chain, a quarter of the range apart (IntGemm.FarRows):
//   four streams far apart in memory, which the hardware prefetchers follow.
//   - The AVX2 and AVX-512 paths: their four-row prompt kernels (Avx2Rows4, Avx512Rows4) on far rows. 512×2048
//     from L2, one thread: AVX2 34 → 43–44 GB/s, AVX-512 32 → 41–43; 5632×2048 from DRAM 27–29 → 34–36 GB/s.
//   - EmittedDecode, on the AVX-512 path where VnniDecode.Available: the emitted kernel (Jit/VnniDecode.EmitQ8_0:
//     vpdpbusd on sign-flipped weights, vcvtph2ps scales), the activation's terms prepared once per call; 512×2048
//     from L2 66–68 GB/s, 5632×2048 from DRAM 37–39 GB/s at one thread and 75–77 at two (the single-row dot: 32,
//     28 and 48–57). tinyllama Q8_0 tg128 went 23–24 → 29–32 t/s at one thread and 41–45 → 50–57 at two.
//   Leftover rows (the range's size mod 4) take the single-row dot. Every output is bit-identical to it.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ8_0Q8_0
{
    /// <summary>Rows [start, end) of a batch-1 product by the emitted four-row kernel (callers check
    /// VnniDecode.Available); rows longer than MaxBlocks blocks take GemmAvx512's decode.</summary>
    [SkipLocalsInit]   // every buffer is written before it is read
    private static void EmittedDecode(MatMulArgs* m, int start, int end)
    {
        const int Q8 = IntDotAvx2.Q8, MaxBlocks = 4096;
        int nb = m->Cols / BlockQ8_0.QK, q = (end - start) / 4;
        if (q == 0 || nb == 0 || nb > MaxBlocks)
        {
            GemmAvx512(m, start, end);
            return;
        }
        int* terms = stackalloc int[8 * nb];
        float* da = stackalloc float[nb];
        float* lanes = stackalloc float[32];
        for (int k = 0; k < nb; k++)
        {
            byte* a = m->Act + k * Q8;
            da[k] = Fp16.ToFloat(*(ushort*)a);
            IntDotAvx2.FlipTerms(a + 2).Store(terms + 8 * k);
        }
        long rb = m->RowBytes;
        var args = new FourRowDecodeArgs { Stride = q * rb, Blocks = nb, Act = m->Act, Terms = terms, Da = da, Lanes = lanes,
            Constants = VnniDecode.ConstantTable };
        for (int i = 0; i < q; i++)
        {
            args.X = m->W + (start + i) * rb;
            VnniDecode.Q8_0Lanes(&args);
            for (int j = 0; j < 4; j++) m->Y[start + j * q + i] = Reductions.Hsum8(lanes + 8 * j);
        }
        for (int r = start + 4 * q; r < end; r++) m->Y[r] = Avx2(m->W + r * rb, m->Act, m->Cols);
    }
}
