// AVX-512 VNNI Q3_K · Q8_K products in the AVX2 dot's arithmetic (DotQ3_KQ8_K.Avx2.cs): decode through the emitted
// row kernel (Jit/VnniDecode.EmitQ3_K, KQuantVnniRows.Decode); prompts one weight row against eight activation rows a
// call of the emitted kernel (Jit/VnniTiles.cs, EmitQ3_K).
//   Per weight row and block of activation rows, once, the row's table (Table): per super-block the signed quants
//   q = u − 4 of chunks 2k and 2k+1 (U, as the AVX2 dot forms u) in vector k; in vector 4 + k the signed scale
//   (sc − 32) of each int32 lane's 16-element sub-block as the int16 pair (sc, 0); fp32(d_w) at byte 32 of vector 8;
//   in vector KRowStartsAt + k (9 + k) each lane's −128·Σ of its four q, the start that cancels the flipped
//   activation's + 128 (KQuantVnniRows.PrepareFlipped). The kernel's lanes are the spec's; KQuantVnniRows.Row finishes the chains with
//   Hsum8: the single-row dot's bits. A group of four goes to Avx2Acts4, the rest to the dot.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ3_KQ8_K
{
    /// <summary>Row-range product on the AVX-512 path: decode and prompts through the emitted kernels
    /// (KQuantVnniRows.Decode with Jit/VnniDecode.EmitQ3_K, KQuantVnniRows.Gemm). Decode on Zen 5, one thread: 512×2048
    /// from L2 16 → 26 GB/s, 2048×5632 from DRAM 15 → 26 GB/s against the AVX2 dot; tinyllama Q3_K_M tg128 35.3 → 48.3
    /// t/s at one thread, 60.5 → 73 at two.</summary>
    public static void GemmAvx512Vnni(MatMulArgs* m, int start, int end)
    {
        if (KQuantVnniRows.DecodeAvailable(m, DecodeTermsPerBlock))
            KQuantVnniRows.Decode(m, start, end, &VnniDecode.Q3_KLanes, KQuantVnniRows.DecodeFinish.Lanes,
                &DecodeTerms, DecodeTermsPerBlock);
        else KQuantVnniRows.Gemm(m, start, end, &VnniRows<KQuantVnniRows.EightRows>, &VnniRows<KQuantVnniRows.OneRow>, &Avx2, &GemmAvx2, flipped: true);
    }

    /// <summary>The emitted decode kernel's activation terms: per super-block its 128 pair sums times −4, the spec's
    /// vpmaddubsw(4, q_a) negated (KLanesDecodeArgs.Terms).</summary>
    private const int DecodeTermsPerBlock = 128;

    private static void DecodeTerms(BlockQ8_K* y, short* t)
    {
        var four = Vector512.Create((byte)4);
        for (int p = 0; p < 4; p++)
            (Vector512<short>.Zero - Avx512BW.MultiplyAddAdjacent(four, Vector512.Load(y->Qs + 64 * p))).Store(t + 32 * p);
    }

    private static void VnniRows<TRows>(MatMulArgs* m, int r, int b0, int b1, int* state) where TRows : struct, KQuantVnniRows.IRows =>
        KQuantVnniRows.Row(m, r, TRows.Count, b0, b1, QW, &Table, &VnniTiles.Q3_K, KRowForm.Q3_K, state, &Avx2Acts4, &Avx2);

    /// <summary>One super-block's table entry (see the file comment).</summary>
    private static void Table(byte* x, Vector512<byte>* t)
    {
        var hm = Vector256.Load(x);
        var four = Vector256.Create((byte)4);
        var ones = Vector512.Create((byte)1);
        var minus128 = Vector512.Create((short)-128);
        for (int k = 0; k < 4; k++)
        {
            var q = Vector256.Load(x + 32 + 32 * (k / 2));   // qs group 0 holds chunks 0..3, group 1 chunks 4..7
            var signed = Vector512.Create(U(q, hm, 2 * k) - four, U(q, hm, 2 * k + 1) - four).AsSByte();
            t[k] = signed.AsByte();
            t[VnniTiles.KRowStartsAt + k] = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(ones, signed), minus128).AsByte();
        }
        var words = Vector512.Create(Scales(x), Vector256<short>.Zero);   // index 16 reads a zero word
        for (int k = 0; k < 4; k++) t[4 + k] = Avx512BW.PermuteVar32x16(words, ScaleIndices[k]).AsByte();
        float dw = KQuantAvx2.Widen(*(ushort*)(x + 108)).ToScalar();
        t[8] = Vector512.Create(Vector256<byte>.Zero, Vector256.Create(dw).AsByte());
    }

    /// <summary>vpermw indices, per chunk pair k, giving int32 lane l the word pair (sc[4k + l/4], 0).</summary>
    private static readonly Vector512<short>[] ScaleIndices = MakeScaleIndices();

    private static Vector512<short>[] MakeScaleIndices()
    {
        var index = new Vector512<short>[4];
        short* w = stackalloc short[32];
        for (int k = 0; k < 4; k++)
        {
            for (int i = 0; i < 32; i++) w[i] = (short)(i % 2 == 0 ? 4 * k + i / 8 : 16);
            index[k] = Vector512.Load(w);
        }
        return index;
    }
}
