// Decode (batch 1) of the legacy formats Q4_1, Q5_0 and Q5_1 on the AVX-512 path, by the emitted four-row kernel
// (Jit/VnniDecode.EmitLegacy) on rows a quarter of the range apart, as Q8_0's decode (DotQ8_0Q8_0.Decode.cs). The
// activation's parts are formed once per call: Q5_0's −16·Σ of each 4-byte piece and fp32 d_a; Q4_1's and Q5_1's
// fp32 (d_a, s_a) pair as a 64-byte vector. Every output is bit-identical to the format's AVX2 dot (LegacyLanes.cs).
// Zen 5, one thread, 512×2048 from L2 against the AVX2 decode: Q4_1 16 → 29–34 GB/s, Q5_0 17 → 31–32, Q5_1 15.5 →
// 30–31; tinyllama Q4_1 tg128 16 → 36–39 t/s at one thread and 30 → 63–68 at two, Q5_0 22 → 37–38 and 42 → 58–63.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

internal static unsafe class LegacyDecode
{
    /// <summary>Blocks per row the kernel takes (the prepared activation lives on the stack: 256 KiB at most).</summary>
    private const int MaxBlocks = 4096;

    /// <summary>Rows [start, end) of a product: decode by the emitted kernel where it is in place, anything else by
    /// <paramref name="gemm"/> (the format's AVX2 product); leftover rows (the range's size mod 4) by
    /// <paramref name="one"/>, the format's AVX2 dot.</summary>
    [SkipLocalsInit]   // every buffer is written before it is read
    public static void Gemm(MatMulArgs* m, int start, int end, LegacyForm form, delegate*<MatMulArgs*, int, int, void> gemm,
        delegate*<byte*, byte*, int, float> one)
    {
        int nb = m->Cols / 32, q = (end - start) / 4;
        if (m->Batch != 1 || !VnniDecode.Available || !Avx2.IsSupported || q == 0 || nb == 0 || nb > MaxBlocks)
        {
            gemm(m, start, end);
            return;
        }
        bool mins = form != LegacyForm.Q5_0;
        int actBytes = mins ? LegacyAvx2.Q8_1 : IntDotAvx2.Q8;
        int* terms = stackalloc int[mins ? 0 : 8 * nb];
        float* da = stackalloc float[mins ? 16 * nb : nb];
        float* lanes = stackalloc float[64];
        for (int k = 0; k < nb; k++)
        {
            byte* a = m->Act + k * actBytes;
            if (mins)
            {
                // (d_a, s_a) as one 64-bit value, broadcast eight times.
                var pair = Vector128.Create(Fp16.ToFloat(*(ushort*)a), Fp16.ToFloat(*(ushort*)(a + 2)), 0, 0);
                Vector512.Create(pair.AsDouble().ToScalar()).AsSingle().Store(da + 16 * k);
            }
            else
            {
                da[k] = Fp16.ToFloat(*(ushort*)a);
                var sixteens = LegacyAvx2.Sixteens(Vector256.Load((sbyte*)(a + 2)));
                (Vector256<int>.Zero - Avx2.MultiplyAddAdjacent(sixteens, Vector256<short>.One)).Store(terms + 8 * k);
            }
        }
        long rb = m->RowBytes;
        var kernel = VnniDecode.Legacy(form);
        var args = new FourRowDecodeArgs { Stride = q * rb, Blocks = nb, Act = m->Act, Terms = terms, Da = da, Lanes = lanes,
            Constants = VnniDecode.ConstantTable };
        for (int i = 0; i < q; i++)
        {
            args.X = m->W + (start + i) * rb;
            kernel(&args);
            for (int j = 0; j < 4; j++)
                m->Y[start + j * q + i] = mins ? Reductions.Hsum8(lanes + 8 * j) + lanes[32 + 8 * j] : Reductions.Hsum8(lanes + 8 * j);
        }
        for (int r = start + 4 * q; r < end; r++) m->Y[r] = one(m->W + r * rb, m->Act, m->Cols);
    }
}
