// AVX2 Q4_1 · Q8_1 dots: the guarded entry points of MinDotAvx2<Q4_1Avx2> (LegacyLanes.cs), the kernel Q4_1 and
// Q5_1 share (they differ only in how a block's 32 unsigned values are unpacked).
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.MatMul;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ4_1Q8_1
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        return MinDotAvx2<Q4_1Avx2>.Dot(w, a, n);
    }

    /// <summary>y[r] = Avx2(w + r·rowBytes, a, n) for r &lt; 4, bit for bit; the four rows share each activation load.</summary>
    public static void Avx2Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 4)
        {
            for (int r = 0; r < 4; r++) y[r] = Avx2(w + r * rowBytes, a, n);
            return;
        }
        MinDotAvx2<Q4_1Avx2>.Rows4(w, rowBytes, a, n, y);
    }

    /// <summary>Row-range product (MatMulArgs contract) in tiles of Avx2Rows4; decode by Avx2Rows4 on four rows a quarter
    /// of the range apart (IntGemm.Rows4, FarRows: four independent chains where the single-row dot waits on one; Zen 5, one
    /// thread, Q4_1 512×2048 from L2 11.3 → 16.3 GB/s, Q5_1 12.3 → 15.6; Q5_0's dot measured no gain).</summary>
    public static void GemmAvx2(MatMulArgs* m, int start, int end) => IntGemm.Rows4(m, start, end, &Avx2Rows4, &Avx2);

    /// <summary>Row-range product on the AVX-512 path: decode by the emitted four-row kernel (LegacyDecode), prompts by
    /// the emitted Q8_0 tile (LegacyTiles), anything else as GemmAvx2.</summary>
    public static void GemmAvx512Vnni(MatMulArgs* m, int start, int end) =>
        LegacyDecode.Gemm(m, start, end, Jit.LegacyForm.Q4_1, &LegacyTiles.Gemm<Q4_1Tile>, &Avx2);
}
