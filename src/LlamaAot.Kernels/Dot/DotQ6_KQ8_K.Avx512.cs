// AVX-512 VNNI Q6_K · Q8_K products in the AVX2 dot's arithmetic (DotQ6_KQ8_K.Avx2.cs): decode through the emitted
// row kernel (Jit/VnniDecode.EmitQ6_K, KQuantVnniRows.Decode); prompts one weight row against eight activation rows a
// call of the emitted kernel (Jit/VnniTiles.cs, EmitQ6_K).
//   Per weight row and block of activation rows, once, the row's table (Table): per super-block the quants of chunks
//   2k and 2k+1 assembled unsigned in vector k (a group's 64 ql bytes in one load, its 32 qh bytes in both halves,
//   each half's 2-bit shift by vpsllvw/vpsrlvw), the scale words of their four sub-blocks (vpermw, the high word
//   cleared), −32·sc as int16 and fp32(d_w) as KQuantAvx2.Scale widens it.
//   The emitted kernel runs the spec's eight-lane chain of each activation row over the whole row;
//   KQuantVnniRows.Row finishes it with Hsum8: the single-row dot's bits. A group of four goes to Avx2Acts4, the rest
//   to the dot.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Jit;
using LlamaAot.Kernels.MatMul;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

public static unsafe partial class DotQ6_KQ8_K
{
    /// <summary>Row-range product on the AVX-512 path: decode and prompts through the emitted kernels
    /// (KQuantVnniRows.Decode with Jit/VnniDecode.EmitQ6_K, KQuantVnniRows.Gemm). Decode on Zen 5, 512×2048 from L2, one
    /// thread: 37 → 72 GB/s against the AVX2 dot; tinyllama Q6_K tg128 at one thread 37–38 → 41 t/s (at two threads
    /// both read what the bandwidth gives).</summary>
    public static void GemmAvx512Vnni(MatMulArgs* m, int start, int end)
    {
        if (KQuantVnniRows.DecodeAvailable(m, KQuantVnniRows.NegatedSumsPerBlock))
            KQuantVnniRows.Decode(m, start, end, &VnniDecode.Q6_KLanes, KQuantVnniRows.DecodeFinish.Lanes,
                &KQuantVnniRows.NegatedSums, KQuantVnniRows.NegatedSumsPerBlock);
        else KQuantVnniRows.Gemm(m, start, end, &VnniRows<KQuantVnniRows.EightRows>, &VnniRows<KQuantVnniRows.OneRow>, &Avx2, &GemmAvx2);
    }

    private static void VnniRows<TRows>(MatMulArgs* m, int r, int b0, int b1, int* state) where TRows : struct, KQuantVnniRows.IRows =>
        KQuantVnniRows.Row(m, r, TRows.Count, b0, b1, sizeof(BlockQ6_K), &Table, &VnniTiles.Q6_K, KRowForm.Q6_K, null, &Avx2Acts4, &Avx2);

    /// <summary>One super-block's table entry (see the file comment).</summary>
    private static void Table(byte* block, Vector512<byte>* t)
    {
        var x = (BlockQ6_K*)block;
        var lowNibble = Vector512.Create((byte)0x0F);
        var highBits = Vector512.Create((byte)0x30);
        // qh shifts of the low and the high half: chunk 4g (bits 0-1 to 4-5) and 4g+1 (bits 2-3), then 4g+2 (bits
        // 4-5, unshifted) and 4g+3 (bits 6-7).
        var up = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)2));
        var down = Vector512.Create(Vector256.Create((ushort)0), Vector256.Create((ushort)2));
        for (int g = 0; g < 2; g++)
        {
            var l = Vector512.Load(x->Ql + 64 * g);
            var h = Vector512.Create(Vector256.Load(x->Qh + 32 * g)).AsUInt16();
            t[2 * g] = (l & lowNibble) | (Avx512BW.ShiftLeftLogicalVariable(h, up).AsByte() & highBits);
            t[2 * g + 1] = ((l.AsUInt16() >>> 4).AsByte() & lowNibble) | (Avx512BW.ShiftRightLogicalVariable(h, down).AsByte() & highBits);
        }
        var sc16 = X86.Avx2.ConvertToVector256Int16(Vector128.Load(x->Scales));
        var words = Vector512.Create(sc16, sc16);
        var lowWord = Vector512.Create(0xffff);
        for (int k = 0; k < 4; k++) t[4 + k] = (Avx512BW.PermuteVar32x16(words, ScaleIndex(k)).AsInt32() & lowWord).AsByte();
        float dw = KQuantAvx2.Widen(x->D).ToScalar();
        t[8] = Vector512.Create((sc16 * (short)-32).AsByte(), Vector256.Create(dw).AsByte());
    }

    /// <summary>vpermw index giving int32 lane q of chunk pair k (chunks 2k, 2k+1) the scale of sub-block 4k + q/4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> ScaleIndex(int k) => Vector512.Create(
        Vector256.Create(Vector128.Create((short)(4 * k)), Vector128.Create((short)(4 * k + 1))),
        Vector256.Create(Vector128.Create((short)(4 * k + 2)), Vector128.Create((short)(4 * k + 3))));
}
