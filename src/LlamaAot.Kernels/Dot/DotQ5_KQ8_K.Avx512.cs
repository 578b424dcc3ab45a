// AVX-512 VNNI Q5_K · Q8_K products in the AVX2 dot's arithmetic (DotQ5_KQ8_K.Avx2.cs): decode through the emitted
// row kernel (Jit/VnniDecode.EmitQ5_K, KQuantVnniRows.Decode); prompts one weight row against eight activation rows a
// call of the emitted kernel (Jit/VnniTiles.cs, EmitQ5_K).
//   Per weight row and block of activation rows, once, the row's table (Table): per super-block the quants of chunks
//   2k and 2k+1 (nibble | 16·qh bit, as Pair forms them) in vector k, each chunk's 6-bit scale as the int16 pair
//   (sc, 0) in its eight lanes, each min twice as int16 (MinWords), fp32(d_w) and −fp32(dmin_w).
//   The emitted kernel runs the spec's two chains of each activation row over the whole row; KQuantVnniRows.Row
//   finishes them, Hsum8(acc) + summs: the single-row dot's bits. A group of four goes to Avx2Acts4, the rest to the
//   dot.
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ5_KQ8_K
{
    /// <summary>Row-range product on the AVX-512 path: decode and prompts through the emitted kernels
    /// (KQuantVnniRows.Decode with Jit/VnniDecode.EmitQ5_K, KQuantVnniRows.Gemm). Decode on Zen 5, one thread:
    /// 512×2048 from L2 24 → 36 GB/s, 2048×5632 from DRAM 22 → 34 GB/s against the AVX2 dot; tinyllama Q5_K_M tg128
    /// 28.0 → 41.8 t/s at one thread, 52.0 → 61.5 at two.</summary>
    public static void GemmAvx512Vnni(MatMulArgs* m, int start, int end)
    {
        if (KQuantVnniRows.DecodeAvailable(m, KQuantVnniRows.NegatedSumsPerBlock, VnniDecode.Q5_KActBytes))
            KQuantVnniRows.Decode(m, start, end, &VnniDecode.Q5_KLanes, KQuantVnniRows.DecodeFinish.LanesAndSumms,
                &KQuantVnniRows.NegatedSums, KQuantVnniRows.NegatedSumsPerBlock, &VnniDecode.PrepareQ5_KActivation, VnniDecode.Q5_KActBytes);
        else KQuantVnniRows.Gemm(m, start, end, &VnniRows<KQuantVnniRows.EightRows>, &VnniRows<KQuantVnniRows.OneRow>, &Avx2, &GemmAvx2);
    }

    private static void VnniRows<TRows>(MatMulArgs* m, int r, int b0, int b1, int* state) where TRows : struct, KQuantVnniRows.IRows =>
        KQuantVnniRows.Row(m, r, TRows.Count, b0, b1, QW, &Table, &VnniTiles.Q5_K, KRowForm.Q5_K, null, &Avx2Acts4, &Avx2);

    /// <summary>One super-block's table entry (see the file comment).</summary>
    private static void Table(byte* x, Vector512<byte>* t)
    {
        var m4 = Vector256.Create((byte)0x0F);
        var bit4 = Vector256.Create((byte)0x10);
        var qh = Vector256.Load(x + 16);
        var sm = ScalesAndMins(x);
        for (int g = 0; g < 4; g++)
        {
            var v = Vector256.Load(x + 48 + 32 * g);
            var lo = (v & m4) | (High(qh, 2 * g) & bit4);
            var hi = ((v.AsUInt16() >>> 4).AsByte() & m4) | (High(qh, 2 * g + 1) & bit4);
            t[g] = Vector512.Create(lo, hi);
            t[4 + g] = Vector512.Create(Vector256.Create((int)sm.GetElement(2 * g)), Vector256.Create((int)sm.GetElement(2 * g + 1))).AsByte();
        }
        var halves = Fp16Vector.HalfPairToSingle(x);   // (d_w, dmin_w)
        var tail = Vector256.Create(halves.ToScalar(), -halves.GetElement(1), 0, 0, 0, 0, 0, 0);
        t[8] = Vector512.Create(MinWords(sm).AsByte(), tail.AsByte());
    }
}
