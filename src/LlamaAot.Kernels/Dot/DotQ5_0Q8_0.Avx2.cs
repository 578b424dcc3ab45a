// AVX2 Q5_0 · Q8_0 dots: the guarded entry points of OffsetDotAvx2<Q5_0Avx2> (LegacyLanes.cs), the kernel Q5_0
// shares with Q4_0's 8-lane order (they differ only in unpacking and in the offset, 16 instead of 8).
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.MatMul;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ5_0Q8_0
{
    public static float Avx2(byte* w, byte* a, int n)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported) return Reference(w, a, n);
        return OffsetDotAvx2<Q5_0Avx2>.Dot(w, a, n);
    }

    /// <summary>y[r] = Avx2(w + r·rowBytes, a, n) for r &lt; 4, bit for bit; the four rows share each activation load.</summary>
    public static void Avx2Rows4(byte* w, long rowBytes, byte* a, int n, float* y)
    {
        if (!X86.Avx2.IsSupported || !Fma.IsSupported || rowBytes > int.MaxValue / 4)
        {
            for (int r = 0; r < 4; r++) y[r] = Avx2(w + r * rowBytes, a, n);
            return;
        }
        OffsetDotAvx2<Q5_0Avx2>.Rows4(w, rowBytes, a, n, y);
    }

    /// <summary>Row-range product (MatMulArgs contract) in tiles of Avx2Rows4.</summary>
    public static void GemmAvx2(MatMulArgs* m, int start, int end) => IntGemm.Tiled(m, start, end, 4, &Avx2Rows4, &Avx2);

    /// <summary>Row-range product on the AVX-512 path: decode by the emitted four-row kernel (LegacyDecode), prompts by
    /// the emitted Q8_0 tile (LegacyTiles), anything else as GemmAvx2.</summary>
    public static void GemmAvx512Vnni(MatMulArgs* m, int start, int end) =>
        LegacyDecode.Gemm(m, start, end, Jit.LegacyForm.Q5_0, &LegacyTiles.Gemm<Q5_0Tile>, &Avx2);
}
