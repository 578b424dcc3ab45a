// Decode (batch 1) row kernels emitted as machine code, for the instructions .NET 9 cannot reach: AVX-512 VNNI's
// vpdpbusd and vpdpwssd, GFNI's vgf2p8affineqb and vcvtph2ps (.NET has no fp16 conversion intrinsic). They leave
// per-block terms (Q4_0, Q4_K) or the spec's lanes (Q8_0, Q6_K) whose integers and float operations are the intrinsic
// kernels', so their results are bit-identical to those and to the Reference.
//   Q4_0 (DotQ4_0Q8_0.Decode.cs's IQ4_0DecodeRows: the blockwise terms of a row pair). Per row and group of eight
//   blocks (144 bytes):
//   - two 64-byte loads and one vpermi2b put blocks 0..3's sixteen nibble bytes in the four 128-bit quarters of a
//     zmm, a second vpermi2b (its second table read from x + 80) those of blocks 4..7, a third the eight fp16 scales;
//   - low nibbles by vpandd, high nibbles by one vgf2p8affineqb (a per-byte shift right by four), and each nibble
//     vector meets the prepared activation's matching bytes in one vpdpbusd: a block's four int32 lanes then sum its
//     32 products n·q_a, exactly (the intrinsic kernel needs vpmaddubsw, vpaddw and vpmaddwd for the same sums);
//   - the scales go to fp32 by vcvtph2ps (exact, as Fp16.ToFloat) and are multiplied by the activation's d_a.
//   The two rows' four sum vectors meet in one transpose-and-add tree, so one zmm holds both rows' eight block sums
//   (vpermd puts them in block order); "− 8·Σq_a" is subtracted and they go to fp32. Against the intrinsic row kernel:
//   512×2048 from L2, one thread, 18–19 → 25–26 GB/s. The runs kernel (EmitQ4_0Runs) takes sixteen rows a run
//   through the same group code and runs their chains itself; the four-row kernel (EmitQ4_0Quad), for long rows,
//   runs four rows' chains in registers.
//   Q4_K (DotQ4_KQ8_K.VnniBlockwiseDecode): see EmitQ4_K; 512×2048 from L2, one thread, 17.9 → 21.6 GB/s on Zen 4
//   (the intrinsic kernel), and on Zen 5 28 → 42 GB/s once each vgf2p8affineqb made both nibble halves of 32 bytes
//   in one zmm and vpmaddubsw + vpdpwssd took them to the scaled lanes (a first pass through a scratch buffer gone);
//   then 37 → 44–48 once a mask and a shift split the nibbles against a reordered activation, the heads were unpacked
//   a group ahead and the chains moved into the kernel.
//   Q8_0 (DotQ8_0Q8_0.EmittedDecode): four rows' spec lanes, see EmitQ8_0; 512×2048 from L2, one thread, 32 → 66–68
//   GB/s against the single-row dot (41 with the intrinsic four-row kernel).
//   Q6_K, Q5_K, Q3_K (KQuantVnniRows.Decode): a row's spec lanes and chains, see EmitQ6_K, EmitQ5_K, EmitQ3_K;
//   512×2048 from L2, one thread, against the AVX2 dots: Q6_K 37 → 72 GB/s, Q5_K 24 → 36 (→ 36.5 with Q4_K's nibble
//   split), Q3_K 16 → 26. Their rows, like Q4_K's, go as two streams (MatMul.TwoStreamRow).
//   Q2_K (blockwise, KQuantVnniRows.Decode): a row's two scalar chains, see EmitQ2_K; 14 → 23–25 GB/s.
//   Q4_1, Q5_0, Q5_1 (LegacyDecode): four rows' spec lanes (and mins chains), see EmitLegacy; 15.5–17 → 29–34 GB/s.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;
using LlamaAot.Kernels.Quants;

namespace LlamaAot.Kernels.Jit;

/// <summary>One call of the emitted Q4_0 decode kernel: the arguments of IQ4_0DecodeRows.Terms2, in bytes where
/// they are strides.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct DecodeTermsArgs
{
    public byte* X0, X1;
    /// <summary>Groups of eight blocks.</summary>
    public long Groups;
    /// <summary>The prepared activation: per group, blocks 0..3's first 16 bytes, their last 16, then blocks 4..7's.</summary>
    public sbyte* Act;
    /// <summary>fp32 d_a and 8·Σq_a per block.</summary>
    public float* Da;
    public int* Eights;
    /// <summary>Row X0's terms at S and D, row X1's NextBytes further on.</summary>
    public float* S, D;
    public long NextBytes;
    /// <summary>The kernel's constant vectors (VnniDecode.Constants).</summary>
    public byte* Constants;
}

/// <summary>One call of the emitted Q4_0 decode kernel in runs of sixteen rows: run n takes rows X0 + (8n + j)·row and
/// X1 + (8n + j)·row for j &lt; 8 (rows of Groups·144 bytes) and stores their blockwise dot products at Y0[8n + j] and,
/// YDelta bytes further on, at the X1 rows' outputs.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Q4_0RunsArgs
{
    public byte* X0, X1;
    public long Groups;
    /// <summary>The prepared activation, as DecodeTermsArgs's.</summary>
    public sbyte* Act;
    public float* Da;
    public int* Eights;
    /// <summary>Groups KiB, 64-byte aligned: a run's terms between its two passes.</summary>
    public byte* Scratch;
    public float* Y0;
    public long YDelta;
    public byte* Constants;
    public long Runs;
}

/// <summary>One call of the emitted Q4_0 four-row decode kernel: rows X, X + Stride, X + 2·Stride, X + 3·Stride (of
/// Groups·144 bytes) against the prepared activation; their blockwise dot products in Lanes[0..3].</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Q4_0QuadArgs
{
    public byte* X;
    public long Stride, Groups;
    /// <summary>The prepared activation, as DecodeTermsArgs's.</summary>
    public sbyte* Act;
    public float* Da;
    public int* Eights;
    /// <summary>Out: eight floats, the rows' results in 0..3.</summary>
    public float* Lanes;
    public byte* Constants;
}

/// <summary>One call of the emitted Q4_K decode kernel: Groups groups of four super-blocks of one weight row.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Q4_KDecodeArgs
{
    public byte* X;
    public long Groups;
    /// <summary>Per super-block the activation's quants in the kernel's sub-block order (PrepareQ4_KActivation),
    /// 64-byte aligned.</summary>
    public byte* Act;
    /// <summary>Per super-block the activation's eight 32-element sums (SubBlockSums) zero-extended to int32: (S, 0)
    /// word pairs.</summary>
    public int* Sums;
    /// <summary>Per super-block its d_a twice.</summary>
    public float* DPairs;
    /// <summary>The kernel's scratch, 40 bytes: a group's (fp32(d_w)·d_a, fp32(dmin_w)·d_a) pairs in the first 32 (the
    /// last chain step loads 16 bytes from byte 24).</summary>
    public float* Scales;
    /// <summary>In and out: the spec's two chains (acc, accm) in floats 0 and 1 (2 and 3 are scratch), before and after
    /// the kernel's super-blocks.</summary>
    public float* Chain;
    public byte* Constants;
}

/// <summary>One call of the emitted Q8_0 or legacy (Q4_1, Q5_0, Q5_1) decode kernel: four weight rows X, X + Stride,
/// X + 2·Stride, X + 3·Stride against one activation row, all Blocks blocks.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FourRowDecodeArgs
{
    public byte* X;
    public long Stride, Blocks;
    /// <summary>The activation's Q8_0 (Q8_1) blocks, as they are.</summary>
    public byte* Act;
    /// <summary>Per block eight int32: Q8_0, the −128·Σ of the activation's 4-byte pieces (IntDotAvx2.FlipTerms);
    /// Q5_0, their −16·Σ; Q4_1 and Q5_1, unread.</summary>
    public int* Terms;
    /// <summary>Per block the activation's fp32 d_a (Q8_0, Q5_0), or 64 bytes: its fp32 (d_a, s_a) eight times (Q4_1,
    /// Q5_1).</summary>
    public float* Da;
    /// <summary>Out: the four rows' spec lanes (the eight-lane fma chains), rows 0..3 eight floats each; for Q4_1 and
    /// Q5_1 then the rows' mins chains, rows 0 and 1 at floats 32 and 40, rows 2 and 3 at 48 and 56.</summary>
    public float* Lanes;
    public byte* Constants;
}

/// <summary>The legacy formats with an emitted decode kernel (VnniDecode.EmitLegacy).</summary>
internal enum LegacyForm { Q4_1, Q5_0, Q5_1 }

/// <summary>One call of the emitted Q6_K, Q5_K or Q3_K decode kernel: one weight row of Blocks super-blocks against one
/// activation row.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KLanesDecodeArgs
{
    public byte* X;
    public long Blocks;
    /// <summary>The activation's Q8_K blocks, as they are.</summary>
    public byte* Act;
    /// <summary>Per super-block the activation's terms (int16): Q6_K and Q5_K, its sixteen bsums negated; Q3_K, its 128
    /// pair sums times −4 (−4·(q_2i + q_2i+1)).</summary>
    public short* Terms;
    /// <summary>Out: the row's eight spec lanes (the fma chain's accumulator before Hsum8); Q5_K's summs chain follows
    /// at Lanes[8].</summary>
    public float* Lanes;
    public byte* Constants;
}

internal static unsafe class VnniDecode
{
    private static readonly delegate* unmanaged[SuppressGCTransition]<DecodeTermsArgs*, void> Q4_0Kernel;
    private static readonly delegate* unmanaged[SuppressGCTransition]<Q4_0RunsArgs*, void> Q4_0RunsKernel;
    private static readonly delegate* unmanaged[SuppressGCTransition]<Q4_0QuadArgs*, void> Q4_0QuadKernel;
    private static readonly delegate* unmanaged[SuppressGCTransition]<Q4_KDecodeArgs*, void> Q4_KKernel;
    private static readonly delegate* unmanaged[SuppressGCTransition]<FourRowDecodeArgs*, void> Q8_0Kernel;
    private static readonly delegate* unmanaged[SuppressGCTransition]<FourRowDecodeArgs*, void> Q4_1Kernel, Q5_0Kernel, Q5_1Kernel;
    private static readonly delegate* unmanaged[SuppressGCTransition]<KLanesDecodeArgs*, void> Q6_KKernel, Q5_KKernel;
    private static readonly delegate* unmanaged[SuppressGCTransition]<KLanesDecodeArgs*, void> Q3_KKernel, Q2_KKernel;
    private static readonly byte* Constants;

    static VnniDecode()
    {
        if (!CpuSupports || Environment.GetEnvironmentVariable("LLAMA_AOT_VNNI") == "0") return;
        var constants = (byte*)NativeMemory.AlignedAlloc(ConstantVectors * 64, 64);   // lives as long as the process
        WriteConstants(constants);
        void* q40 = ExecutableMemory.Load(EmitQ4_0()), q4k = ExecutableMemory.Load(EmitQ4_K()), q80 = ExecutableMemory.Load(EmitQ8_0());
        void* q6k = ExecutableMemory.Load(EmitQ6_K()), q40r = ExecutableMemory.Load(EmitQ4_0Runs());
        void* q40q = ExecutableMemory.Load(EmitQ4_0Quad()), q5k = ExecutableMemory.Load(EmitQ5_K());
        void* q3k = ExecutableMemory.Load(EmitQ3_K());
        void* q2k = ExecutableMemory.Load(EmitQ2_K()), q41 = ExecutableMemory.Load(EmitLegacy(LegacyForm.Q4_1));
        void* q50 = ExecutableMemory.Load(EmitLegacy(LegacyForm.Q5_0)), q51 = ExecutableMemory.Load(EmitLegacy(LegacyForm.Q5_1));
        if (q40 == null || q4k == null || q80 == null || q6k == null || q40r == null || q40q == null || q5k == null || q3k == null
            || q2k == null || q41 == null || q50 == null || q51 == null)
            return;
        Constants = constants;
        Q4_0Kernel = (delegate* unmanaged[SuppressGCTransition]<DecodeTermsArgs*, void>)q40;
        Q4_0RunsKernel = (delegate* unmanaged[SuppressGCTransition]<Q4_0RunsArgs*, void>)q40r;
        Q4_0QuadKernel = (delegate* unmanaged[SuppressGCTransition]<Q4_0QuadArgs*, void>)q40q;
        Q4_KKernel = (delegate* unmanaged[SuppressGCTransition]<Q4_KDecodeArgs*, void>)q4k;
        Q8_0Kernel = (delegate* unmanaged[SuppressGCTransition]<FourRowDecodeArgs*, void>)q80;
        Q6_KKernel = (delegate* unmanaged[SuppressGCTransition]<KLanesDecodeArgs*, void>)q6k;
        Q5_KKernel = (delegate* unmanaged[SuppressGCTransition]<KLanesDecodeArgs*, void>)q5k;
        Q3_KKernel = (delegate* unmanaged[SuppressGCTransition]<KLanesDecodeArgs*, void>)q3k;
        Q2_KKernel = (delegate* unmanaged[SuppressGCTransition]<KLanesDecodeArgs*, void>)q2k;
        Q4_1Kernel = (delegate* unmanaged[SuppressGCTransition]<FourRowDecodeArgs*, void>)q41;
        Q5_0Kernel = (delegate* unmanaged[SuppressGCTransition]<FourRowDecodeArgs*, void>)q50;
        Q5_1Kernel = (delegate* unmanaged[SuppressGCTransition]<FourRowDecodeArgs*, void>)q51;
    }

    /// <summary>AVX-512 F, BW, VL, DQ with the zmm state the OS saves (Avx512F, Avx512BW, Avx512DQ; vcvtph2ps in its
    /// EVEX form is F + VL), VBMI (vpermi2b), VNNI and GFNI (CPUID.(EAX=7, ECX=0):ECX bits 1, 11 and 8).</summary>
    public static bool CpuSupports
    {
        get
        {
            if (!Avx512F.IsSupported || !Avx512BW.IsSupported || !Avx512DQ.IsSupported || !Avx512F.VL.IsSupported) return false;
            int ecx = X86Base.CpuId(7, 0).Ecx;
            return (ecx & (1 << 1)) != 0 && (ecx & (1 << 11)) != 0 && (ecx & (1 << 8)) != 0;
        }
    }

    /// <summary>The emitted kernels are in place: the CPU has what they need, LLAMA_AOT_VNNI is not 0 and the system let
    /// us map the code.</summary>
    public static bool Available => Q4_0Kernel != null;

    /// <summary>The kernels' constant vectors: every args struct's Constants, set when the struct is built (the
    /// drivers build it once per call where they can and change only the row pointers per row).</summary>
    public static byte* ConstantTable => Constants;

    // The emitted kernels (callers check Available; Q4_0's and Q4_K's need Groups ≥ 1, the others Blocks ≥ 1).
    public static void Q4_0Terms(DecodeTermsArgs* args) => Q4_0Kernel(args);
    public static void Q4_0Runs(Q4_0RunsArgs* args) => Q4_0RunsKernel(args);
    public static void Q4_0Quad(Q4_0QuadArgs* args) => Q4_0QuadKernel(args);
    public static void Q4_KTerms(Q4_KDecodeArgs* args) => Q4_KKernel(args);
    public static void Q8_0Lanes(FourRowDecodeArgs* args) => Q8_0Kernel(args);

    /// <summary>The emitted legacy kernel of a form (callers check Available; Blocks ≥ 1).</summary>
    public static delegate* unmanaged[SuppressGCTransition]<FourRowDecodeArgs*, void> Legacy(LegacyForm form) =>
        form switch { LegacyForm.Q4_1 => Q4_1Kernel, LegacyForm.Q5_0 => Q5_0Kernel, _ => Q5_1Kernel };
    public static void Q6_KLanes(KLanesDecodeArgs* args) => Q6_KKernel(args);
    public static void Q5_KLanes(KLanesDecodeArgs* args) => Q5_KKernel(args);
    public static void Q3_KLanes(KLanesDecodeArgs* args) => Q3_KKernel(args);
    public static void Q2_KChains(KLanesDecodeArgs* args) => Q2_KKernel(args);

    // The constant vectors: vpermi2b indices of blocks 0..3's and 4..7's nibble bytes and of the eight scales, the
    // vpermd order of the reduced sums, the low-nibble mask and the shift-right-by-four bit matrix.
    private const int IndexLow = 0, IndexHigh = 1, IndexScales = 2, Order = 3, Mask = 4, ShiftMatrix = 5;
    // Q4_K: vpshufb indices and masks unpacking the 6-bit scales and mins.
    private const int ScalesLow = 6, ScalesHigh = 7, KeepLow = 8, KeepMinHigh = 9, KeepTopBits = 10;
    // Q8_0: 0x80 in every byte (the sign flip that makes the weights vpdpbusd's unsigned operand).
    private const int SignBits = 11;
    // Q4_K: the vpermd indices gathering dword 0 of each 128-bit quarter into lanes 0..3; the vpermw indices of
    // (sc_a ×16, sc_b ×16) for the sub-block pairs (a, b) of the Q4_K and Q5_K kernels' nibble vectors, (0, 2), (1, 3),
    // (4, 6), (5, 7); those of the mins as (m_k, m_k) words (the sums they meet are (S_k, 0) word pairs).
    private const int Q4KHeads = 12, Q4KWords = 13, MinWords = 17;
    // Q6_K: 0x30 in every byte; the word shifts of qh for the two halves of a chunk pair (left: 4, 2; right: 0, 2);
    // the vpermw indices of chunk pair k's scale words (sub-block 4k + i/8 at word i).
    private const int HighBits = 18, ShiftsUp = 19, ShiftsDown = 20, Q6Words = 21;
    // Q4_0 four-row kernel: per block k, the vpermi2ps indices of (row 0, row 1, row 2, row 3)'s block k from the two
    // pairs' vectors (a pair's first row's eight blocks, then its second's).
    private const int QuadLanes = 25;
    // Q5_K: the vpermw indices of the mins, each twice (m_j at words 2j and 2j + 1); per nibble vector v the
    // vgf2p8affineqb matrices moving qh bit s (low half) or s + 2 (high half) to bit 4, s = 4·(v / 2) + v mod 2.
    private const int MinPairs = 33, Q5HighBits = 34;
    // Q3_K: the word shift counts unpacking the scales (of a0, a1, a0, a1 and of t ×4), 0x03 in every byte, 32 in
    // every word; the vgf2p8affineqb matrices taking the 2-bit fields of chunk pairs 2k and 2k + 1 (fields 0 and 1, or 2
    // and 3, in the two halves) and moving hmask bit 2p (low half) or 2p + 1 (high half) to bit 2.
    private const int Q3ShiftsA = 38, Q3ShiftsT = 39, Threes = 40, Thirty2 = 41, Q3Fields = 42, Q3HighBits = 44;
    // Legacy: the vgf2p8affineqb matrices keeping the low nibble (128-bit lanes 0 and 2) and shifting the high one down
    // (lanes 1 and 3); the vpshufb indices spreading qh byte j / 8 to byte j of a row's 32 (j = i + 16·(lane mod 2));
    // 1 << (j mod 8) in byte j; the matrix setting bit 4 to the parity of the byte (one bit at most is set).
    private const int NibbleLanes = 48, QhSpread = 49, BitOfByte = 50, AnyBitTo4 = 51, ConstantVectors = 52;

    /// <summary>Bytes per super-block of the Q4_K kernel's activation (PrepareQ4_KActivation).</summary>
    internal const int Q4_KActBytes = 256;

    /// <summary>Bytes per super-block of the Q5_K kernel's activation (PrepareQ5_KActivation).</summary>
    internal const int Q5_KActBytes = 320;

    /// <summary>The Q5_K kernel's activation for one Q8_K block: its quants as PrepareQ4_KActivation lays them out,
    /// then d at byte 256 (Q5_KActBytes in all, so each block's quants stay 64-byte aligned).</summary>
    internal static void PrepareQ5_KActivation(BlockQ8_K* y, byte* dst)
    {
        PrepareQ4_KActivation(y->Qs, dst);
        *(float*)(dst + 256) = y->D;
    }

    /// <summary>The Q4_K kernel's activation for one Q8_K block's quants: its eight 32-byte sub-blocks in the order of
    /// the kernel's nibble vectors, 0, 2, 1, 3, 4, 6, 5, 7, at dst (Q4_KActBytes).</summary>
    internal static void PrepareQ4_KActivation(sbyte* q, byte* dst)
    {
        for (int v = 0; v < 8; v++)
        {
            int sub = 4 * (v / 4) + (v % 4) switch { 0 => 0, 1 => 2, 2 => 1, _ => 3 };
            Vector256.Load(q + 32 * sub).AsByte().Store(dst + 32 * v);
        }
    }

    internal static void WriteConstants(byte* c)
    {
        const int Q4 = 18;
        for (int q = 0; q < 4; q++)
            for (int i = 0; i < 16; i++)
            {
                c[64 * IndexLow + 16 * q + i] = (byte)(Q4 * q + 2 + i);                        // from (x, x + 64)
                c[64 * IndexHigh + 16 * q + i] = (byte)(q < 3 ? Q4 * (4 + q) + 2 - 64 + i      // from x + 64 ...
                                                              : 64 + Q4 * 7 + 2 - 80 + i);     // ... and x + 80
            }
        for (int i = 0; i < 64; i++) c[64 * IndexScales + i] = (byte)(i < 16 ? Q4 * (i / 2) + i % 2 : 0);
        // After the tree, quarter q holds row 0's blocks q and 4 + q, then row 1's: lanes 4q .. 4q + 3.
        var order = (int*)(c + 64 * Order);
        for (int k = 0; k < 4; k++)
        {
            order[k] = 4 * k; order[4 + k] = 4 * k + 1; order[8 + k] = 4 * k + 2; order[12 + k] = 4 * k + 3;
        }
        for (int i = 0; i < 64; i++) c[64 * Mask + i] = 0x0F;
        // Output bit i (0..3) of each byte is input bit 4 + i: matrix byte 7 − i holds 1 << (4 + i).
        var matrix = (ulong*)(c + 64 * ShiftMatrix);
        for (int i = 0; i < 8; i++) matrix[i] = 0x1020408000000000UL;

        // The 16 bytes at a Q4_K block: d, dmin, then the packed scale bytes u0..u11 at 4..15. Bytes 0..15 of the
        // unpacked vector are sc0..sc7, m0..m7 (get_scale_min_k4): sc_j = u_j & 63 and m_j = u_{j+4} & 63 for j < 4;
        // sc_j = (u_{j+4} & 15) | (u_{j−4} >> 6) << 4 and m_j = (u_{j+4} >> 4) | (u_j >> 6) << 4 for j ≥ 4.
        for (int i = 0; i < 64; i++)
        {
            int b = i % 16, quarter = b / 4, k = b % 4;
            c[64 * ScalesLow + i] = (byte)(4 + quarter switch { 0 => k, 1 => 8 + k, 2 => 4 + k, _ => 8 + k });
            c[64 * ScalesHigh + i] = quarter switch { 1 => (byte)(4 + k), 3 => (byte)(8 + k), _ => 0x80 };
            c[64 * KeepLow + i] = quarter switch { 0 or 2 => 63, 1 => 15, _ => 0 };
            c[64 * KeepMinHigh + i] = (byte)(quarter == 3 ? 15 : 0);
            c[64 * KeepTopBits + i] = (byte)(quarter is 1 or 3 ? 0x30 : 0);
        }
        for (int i = 0; i < 64; i++) c[64 * SignBits + i] = 0x80;
        // The widened head's words: sc_0..sc_7 at 0..7, m_0..m_7 at 8..15.
        for (int j = 0; j < 4; j++)
        {
            var words = (ushort*)(c + 64 * (Q4KWords + j));
            int first = 4 * (j / 2) + j % 2;
            for (int i = 0; i < 32; i++) words[i] = (ushort)(first + 2 * (i / 16));
        }
        var heads = (int*)(c + 64 * Q4KHeads);
        for (int i = 0; i < 16; i++) heads[i] = 4 * (i % 4);
        var mins = (ushort*)(c + 64 * MinWords);
        for (int i = 0; i < 32; i++) mins[i] = (ushort)(8 + i / 2 % 8);
        for (int i = 0; i < 64; i++) c[64 * HighBits + i] = 0x30;
        var up = (ushort*)(c + 64 * ShiftsUp);
        var down = (ushort*)(c + 64 * ShiftsDown);
        for (int i = 0; i < 32; i++)
        {
            up[i] = (ushort)(i < 16 ? 4 : 2);
            down[i] = (ushort)(i < 16 ? 0 : 2);
        }
        for (int k = 0; k < 4; k++)
        {
            var words = (ushort*)(c + 64 * (Q6Words + k));
            for (int i = 0; i < 32; i++) words[i] = (ushort)(4 * k + i / 8);
        }
        var minPairs = (ushort*)(c + 64 * MinPairs);
        for (int i = 0; i < 32; i++) minPairs[i] = (ushort)(i < 16 ? 8 + i / 2 : 16);
        // Output bit 4 is input bit b: matrix byte 7 − 4 = 3 holds 1 << b. Nibble vector v of the Q5_K kernel holds
        // sub-blocks s = 4·(v / 2) + v mod 2 (low half) and s + 2 (high half), whose fifth bits are qh bits s and
        // s + 2.
        for (int v = 0; v < 4; v++)
        {
            var bits = (ulong*)(c + 64 * (Q5HighBits + v));
            int sub = 4 * (v / 2) + v % 2;
            for (int i = 0; i < 8; i++) bits[i] = (1UL << (sub + (i < 4 ? 0 : 2))) << 24;
        }
        var shiftsA = (ushort*)(c + 64 * Q3ShiftsA);
        var shiftsT = (ushort*)(c + 64 * Q3ShiftsT);
        var thirty2 = (ushort*)(c + 64 * Thirty2);
        for (int i = 0; i < 32; i++)
        {
            shiftsA[i] = (ushort)(i is >= 4 and < 8 ? 4 : 0);
            shiftsT[i] = (ushort)(i < 8 ? 2 * (i / 2) : 0);
            thirty2[i] = 32;
        }
        for (int i = 0; i < 64; i++) c[64 * Threes + i] = 3;
        // Output bits 0 and 1 are input bits f and f + 1: matrix bytes 7 and 6 hold 1 << f and 1 << (f + 1).
        for (int k = 0; k < 2; k++)
        {
            var fields = (ulong*)(c + 64 * (Q3Fields + k));
            for (int i = 0; i < 8; i++)
            {
                int f = 4 * k + (i < 4 ? 0 : 2);
                fields[i] = (1UL << f) << 56 | (1UL << (f + 1)) << 48;
            }
        }
        // Output bit 2 is input bit b: matrix byte 7 − 2 = 5 holds 1 << b.
        for (int p = 0; p < 4; p++)
        {
            var bits = (ulong*)(c + 64 * (Q3HighBits + p));
            for (int i = 0; i < 8; i++) bits[i] = (1UL << (2 * p + (i < 4 ? 0 : 1))) << 40;
        }
        var nibbleLanes = (ulong*)(c + 64 * NibbleLanes);
        for (int i = 0; i < 8; i++) nibbleLanes[i] = i / 2 % 2 == 0 ? 0x0102040800000000UL : 0x1020408000000000UL;
        for (int i = 0; i < 64; i++)
        {
            int j = i % 16 + 16 * (i / 16 % 2);   // the element of the row this byte holds
            c[64 * QhSpread + i] = (byte)(j / 8);
            c[64 * BitOfByte + i] = (byte)(1 << j % 8);
        }
        var anyBit = (ulong*)(c + 64 * AnyBitTo4);
        for (int i = 0; i < 8; i++) anyBit[i] = 0xFFUL << 24;
        for (int k = 0; k < 8; k++)
        {
            var lanes = (int*)(c + 64 * (QuadLanes + k));
            for (int i = 0; i < 16; i++) lanes[i] = i < 4 ? 8 * i + k : 0;
        }
    }

    /// <summary>The Q4_K kernel; System V ABI, argument a Q4_KDecodeArgs*. Per group of four super-blocks: their
    /// heads' scales and mins unpacked together (get_scale_min_k4, by vpshufb, shifts and masks, one head per 128-bit
    /// quarter) a group ahead, so the chain from the head loads to the scale words is off the group's path, and
    /// widened to words. Per super-block and 64 bytes of quants, a mask and a shift give two vectors of nibbles:
    /// sub-blocks (4h, 4h + 2) in the low nibbles, (4h + 1, 4h + 3) in the high, each against the activation's
    /// sub-blocks prepared in that order (PrepareQ4_KActivation); vpmaddubsw forms int16 pair sums (at most 2·15·128,
    /// no saturation) and vpdpwssd with the two sub-blocks' scales, picked from the words by vpermw, adds them into the
    /// block's sumi lanes. summ's lanes are one vpdpwssd of the mins against the activation's sub-block sums. Every
    /// group, the sumi halves are added, one transpose-and-add tree turns the eight lane vectors into (sumi, summ)
    /// pairs, their d and dmin are converted by vcvtph2ps, and the spec's two chains take the group's four steps in
    /// lanes 0 and 1 of an xmm kept in Q4_KDecodeArgs.Chain. All integer sums are exact, so the chains are the spec's.
    /// Zen 5, one thread, against the kernel before (a head unpacked per super-block, on its path, and two
    /// vgf2p8affineqb nibble splits): 512×2048 from L2 37 → 44 GB/s, 192×8192 → 48.</summary>
    internal static byte[] EmitQ4_K()
    {
        var e = new X86Emitter();
        e.Load(Gpr.Rax, new Mem(Args, 56));
        e.LoadInt(Q4K.Low, new Mem(Gpr.Rax, 64 * Mask));
        for (int i = 0; i < 5; i++) e.LoadInt(Q4K.Unpack + i, new Mem(Gpr.Rax, 64 * (ScalesLow + i)));
        for (int j = 0; j < 4; j++) e.LoadInt(Q4K.Words + j, new Mem(Gpr.Rax, 64 * (Q4KWords + j)));
        e.LoadInt(Q4K.MinIndex, new Mem(Gpr.Rax, 64 * MinWords));
        e.LoadInt(Q4K.HeadIndex, new Mem(Gpr.Rax, 64 * Q4KHeads));
        e.LoadFields(Args, Q4K.X, Count, Act, Q4K.Sums, Q4K.DPairs, Q4K.Scales, Q4K.Chain);
        // The first group's heads; each group then unpacks the next one's while it works (the last group, after the
        // loop, reads nothing past the row).
        Q4_KHeads(e, 0);
        e.Sub(Count, 1);
        int last = e.JumpIfZeroForward();
        int loop = e.Position;
        Q4_KGroup(e, true);
        e.NextIteration(loop, Count, [(Q4K.X, 4 * Q4K.BlockBytes), (Act, 4 * Q4_KActBytes), (Q4K.Sums, 4 * 32), (Q4K.DPairs, 32)]);
        e.Bind(last);
        Q4_KGroup(e, false);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The Q4_K kernel's registers: zmm 0..3 quants, nibbles, pair sums, scale words (then min words); 4 the
    /// four heads; 5..7 the scale unpack (5 then holds the next group's sc/m bytes); 8 + 2k, 9 + 2k super-block k's
    /// sumi (zmm, then ymm) and summ (ymm) lanes; 16 + k super-block k's scales and mins as words (at words 0..15);
    /// 20..31 the constants.</summary>
    private static class Q4K
    {
        public const Gpr X = Gpr.Rsi, Sums = Gpr.R9, DPairs = Gpr.R10, Scales = Gpr.R11, Chain = Gpr.Rax;
        public const int BlockBytes = 144;
        public const int Q = 0, N = 1, P = 2, SC = 3, Heads = 4, U = 5, Lanes = 8, W = 16;
        public const int Low = 20, Unpack = 21, Words = 26, MinIndex = 30, HeadIndex = 31;
        /// <summary>The reduction tree's eight temporaries (free once the group's sums are in the lanes).</summary>
        public static readonly int[] Tree = [0, 1, 2, 3, 16, 17, 18, 19];
    }

    /// <summary>The four heads of the group <paramref name="group"/> groups on from X in the 128-bit quarters of zmm 4,
    /// unpacked together to sc/m bytes in zmm 5 (get_scale_min_k4 works within a quarter).</summary>
    private static void Q4_KHeads(X86Emitter e, int group)
    {
        int at = 4 * Q4K.BlockBytes * group;
        e.LoadInt(Q4K.Heads, new Mem(Q4K.X, at), 128);
        for (int k = 1; k < 4; k++) e.InsertQuarter(Q4K.Heads, Q4K.Heads, new Mem(Q4K.X, at + Q4K.BlockBytes * k), (byte)k);
        UnpackScaleAndMinBytes(e, Q4K.Heads, Q4K.U, Q4K.Unpack, 512);
    }

    /// <summary>One group of four super-blocks at X, its heads in zmm 4 and their sc/m bytes in zmm 5; with
    /// <paramref name="next"/>, the next group's heads are loaded and unpacked meanwhile.</summary>
    private static void Q4_KGroup(X86Emitter e, bool next)
    {
        const int Q = Q4K.Q, N = Q4K.N, P = Q4K.P, SC = Q4K.SC, U = Q4K.U, W = Q4K.W;
        // The sc/m words: super-blocks 0 and 1 in W, 2 and 3 in W + 2, each pair's second moved to words 0..15 of
        // its own register (W + 1, W + 3).
        e.ZeroExtendBytesToWords(W, U);
        e.ExtractUpper256(U + 1, U);
        e.ZeroExtendBytesToWords(W + 2, U + 1);
        e.ShuffleQuarters(W + 1, W, W, 0x4E);
        e.ShuffleQuarters(W + 3, W + 2, W + 2, 0x4E);
        // d, dmin of the four super-blocks: the first dword of each head, side by side, to fp32, times d_a.
        e.PermuteInt32(N, Q4K.HeadIndex, Q4K.Heads);
        e.HalfToFloat256(N, N);
        e.Multiply256(N, N, new Mem(Q4K.DPairs));
        e.Store256(new Mem(Q4K.Scales), N);
        if (next) Q4_KHeads(e, 1);
        for (int k = 0; k < 4; k++)
        {
            var x = new Mem(Q4K.X, Q4K.BlockBytes * k);
            var a = new Mem(Act, Q4_KActBytes * k);
            // Into L2 a page ahead (tinyllama Q4_K_M tg at two threads: 45 t/s prefetching into L1, 49–51 into L2;
            // two pages ahead measured no better).
            for (int line = 0; line < 3; line++) e.PrefetchL2(x + (4096 + 64 * line));
            int sumi = Q4K.Lanes + 2 * k, summ = sumi + 1;
            e.Xor(sumi, sumi, sumi);
            for (int h = 0; h < 2; h++)
            {
                // 64 bytes of quants: sub-blocks 4h and 4h + 2 in their low nibbles, 4h + 1 and 4h + 3 in the high.
                e.LoadInt(Q, x + (16 + 64 * h));
                for (int half = 0; half < 2; half++)
                {
                    if (half == 0) e.And(N, Q, Q4K.Low);
                    else
                    {
                        e.ShiftRightWords(N, Q, 4);
                        e.And(N, N, Q4K.Low);
                    }
                    e.MultiplyAddBytes(P, N, a + (128 * h + 64 * half));
                    e.PermuteWords(SC, Q4K.Words + 2 * h + half, W + k);
                    e.DotWords(sumi, P, SC);
                }
            }
            e.PermuteWords(SC, Q4K.MinIndex, W + k);
            e.Xor(summ, summ, summ, 256);
            e.DotWords(summ, SC, new Mem(Q4K.Sums, 32 * k), 256);
            e.ExtractUpper256(Q, sumi);
            e.AddInt(sumi, sumi, Q, 256);
        }
        // Lanes 8..15 (sumi0, summ0, .., summ3) to eight sums in that order: unpack-and-add in dwords, in qwords, then
        // the two 128-bit halves.
        var t = Q4K.Tree;
        for (int p = 0; p < 4; p++)
        {
            int v = Q4K.Lanes + 2 * p;
            e.UnpackLowInt32(t[2 * p], v, v + 1, 256);
            e.UnpackHighInt32(t[2 * p + 1], v, v + 1, 256);
            e.AddInt(t[2 * p], t[2 * p], t[2 * p + 1], 256);
        }
        for (int p = 0; p < 2; p++)
        {
            int v = 4 * p, r = 4 * p + 1;
            e.UnpackLowInt64(t[r], t[v], t[v + 2], 256);
            e.UnpackHighInt64(t[r + 2], t[v], t[v + 2], 256);
            e.AddInt(t[r], t[r], t[r + 2], 256);
        }
        e.ShuffleHalves256(t[0], t[1], t[5], 0b00);
        e.ShuffleHalves256(t[2], t[1], t[5], 0b11);
        e.AddInt(t[0], t[0], t[2], 256);
        e.IntToFloat(t[0], t[0], 256);
        // The spec's chains over the group's super-blocks in order: (acc, accm) = fma((sumi_k, summ_k), (d_k·d_a,
        // dmin_k·d_a), (acc, accm)) in lanes 0 and 1 of an xmm (lanes 2 and 3 carry whatever comes).
        int c = t[1], s1 = t[2], s2 = t[3];
        e.LoadInt(c, new Mem(Q4K.Chain), 128);
        e.FusedMultiplyAdd(c, t[0], new Mem(Q4K.Scales), 128);
        e.ShuffleInt32(s1, t[0], 0xEE, 128);
        e.FusedMultiplyAdd(c, s1, new Mem(Q4K.Scales, 8), 128);
        e.ShuffleHalves256(s2, t[0], t[0], 0b01);
        e.FusedMultiplyAdd(c, s2, new Mem(Q4K.Scales, 16), 128);
        e.ShuffleInt32(s1, s2, 0xEE, 128);
        e.FusedMultiplyAdd(c, s1, new Mem(Q4K.Scales, 24), 128);
        e.Store128(new Mem(Q4K.Chain), c);
    }

    /// <summary>A K-quant block's 6-bit scales and mins (get_scale_min_k4) from its first 16 bytes in xmm head to words
    /// in ymm w: sc0..sc7 at words 0..7, m0..m7 at 8..15. (T1 &amp; KeepLow) | ((T1 &gt;&gt; 4) &amp; KeepMinHigh) |
    /// ((T2 &gt;&gt; 2) &amp; KeepTopBits), T1 and T2 the two vpshufb of the head (WriteConstants); u, u + 1 and u + 2
    /// are temporaries, unpack .. unpack + 4 the constants ScalesLow .. KeepTopBits.</summary>
    private static void UnpackScalesAndMins(X86Emitter e, int head, int u, int unpack, int w)
    {
        UnpackScaleAndMinBytes(e, head, u, unpack, 128);
        e.ZeroExtendBytesToWords256(w, u);
    }

    /// <summary>UnpackScalesAndMins's bytes, left in u: sc0..sc7, m0..m7 of the block whose first 16 bytes are in each
    /// 128-bit quarter of head (the first <paramref name="bits"/> of it).</summary>
    private static void UnpackScaleAndMinBytes(X86Emitter e, int head, int u, int unpack, int bits)
    {
        e.ShuffleBytes(u, head, unpack, bits);
        e.ShuffleBytes(u + 1, head, unpack + 1, bits);
        e.ShiftRightWords(u + 2, u, 4, bits);
        e.And(u + 2, u + 2, unpack + 3, bits);
        e.And(u, u, unpack + 2, bits);
        e.Or(u, u, u + 2, bits);
        e.ShiftRightWords(u + 1, u + 1, 2, bits);
        e.And(u + 1, u + 1, unpack + 4, bits);
        e.Or(u, u, u + 1, bits);
    }

    /// <summary>The Q5_K kernel; System V ABI, argument a KLanesDecodeArgs*. It computes DotQ5_KQ8_K.Avx2's lanes and
    /// chains. Per super-block: the scales and mins as words (UnpackScalesAndMins); per 64 bytes of qs a mask and a
    /// shift give two nibble vectors, sub-blocks (s, s + 2) in their halves (as in EmitQ4_K, against the activation
    /// prepared in that order, PrepareQ5_KActivation); one vgf2p8affineqb on qh (broadcast to both halves) moves bit s
    /// (low half) or s + 2 (high half) to bit 4, vpord makes the 5-bit quants, vpmaddubsw against the activation's 64
    /// bytes (|pair| ≤ 2·31·128, no saturation) and vpdpwssd with (sc_s ×16, sc_s+2 ×16) add the scaled pair sums into
    /// the block's lanes. Adding the halves leaves lane j = bytes 4j..4j+3 of every sub-block: the spec's lane,
    /// exactly. Σ m_j·(bs[2j] + bs[2j+1]) is one vpdpwssd of the mins, each twice, against the negated bsums and a
    /// reduction of its eight int32 (exact: it is −Σ). Float part, in the spec's order: acc = fma(d_w·d_a, lanes, acc)
    /// in a ymm and summs = fma(dmin_w·d_a, −Σ, summs) (the spec's fma(−(d_a·dmin_w), Σ, summs): negating either
    /// factor is exact) in lane 0 of an xmm. Zen 5, 512×2048 from L2, one thread: 34.5 → 36.5 GB/s against the kernel
    /// before (a broadcast and a vgf2p8affineqb nibble split per 32 bytes).</summary>
    internal static byte[] EmitQ5_K()
    {
        const Gpr X = Gpr.Rsi, NegSums = Gpr.R9, Lanes = Gpr.Rax;
        const int BlockBytes = 176;
        // zmm 0: quants; 1: nibbles (then 5-bit quants); 2: high bits (then pair sums); 3: scale words; 4: qh; 5: the
        // head; 6..8: the scale unpack (then d·d_a broadcast, dmin·d_a, min words); 9: widened scales and mins; 10: the
        // block's lanes; 11: a temporary; 12: Σ m·(−bs); 13: d, dmin times d_a; 14: the acc chain (ymm); 15: summs
        // (xmm lane 0); 16..31: the constants (31: zero, vpermd's index broadcasting lane 0).
        const int Q = 0, N = 1, Hb = 2, P = 2, SC = 3, H = 4, Head = 5, U = 6, W = 9, I = 10, T = 11, M = 12, D = 13,
            Acc = 14, Summs = 15, DB = 6, DM = 7, MW = 8;
        const int Low = 16, Unpack = 17, Words = 22, MinIndex = 26, HighBits = 27, Zero = 31;
        var e = new X86Emitter();
        e.Load(Gpr.Rax, new Mem(Args, 40));
        e.LoadInt(Low, new Mem(Gpr.Rax, 64 * Mask));
        for (int i = 0; i < 5; i++) e.LoadInt(Unpack + i, new Mem(Gpr.Rax, 64 * (ScalesLow + i)));
        for (int j = 0; j < 4; j++) e.LoadInt(Words + j, new Mem(Gpr.Rax, 64 * (Q4KWords + j)));
        e.LoadInt(MinIndex, new Mem(Gpr.Rax, 64 * MinPairs));
        for (int v = 0; v < 4; v++) e.LoadInt(HighBits + v, new Mem(Gpr.Rax, 64 * (Q5HighBits + v)));
        e.Xor(Zero, Zero, Zero);
        e.LoadFields(Args, X, Count, Act, NegSums, Lanes);
        e.Xor(Acc, Acc, Acc, 256);
        e.Xor(Summs, Summs, Summs, 128);

        int loop = e.Position;
        // Into L2 a page ahead, as EmitQ4_K (176 bytes a super-block: three lines cover it).
        for (int line = 0; line < 3; line++) e.PrefetchL2(new Mem(X, 4096 + 64 * line));
        e.LoadInt(Head, new Mem(X), 128);
        UnpackScalesAndMins(e, Head, U, Unpack, W);
        e.BroadcastInt256(H, new Mem(X, 16));
        e.Xor(I, I, I);
        for (int h = 0; h < 2; h++)
        {
            // 64 bytes of qs: sub-blocks 4h and 4h + 2 in their low nibbles, 4h + 1 and 4h + 3 in the high (as
            // EmitQ4_K).
            e.LoadInt(Q, new Mem(X, 48 + 64 * h));
            for (int half = 0; half < 2; half++)
            {
                int v = 2 * h + half;
                if (half == 0) e.And(N, Q, Low);
                else
                {
                    e.ShiftRightWords(N, Q, 4);
                    e.And(N, N, Low);
                }
                e.GaloisAffine(Hb, H, HighBits + v, 0);
                e.Or(N, N, Hb);
                e.MultiplyAddBytes(P, N, new Mem(Act, 64 * v));
                e.PermuteWords(SC, Words + v, W);
                e.DotWords(I, P, SC);
            }
        }
        e.ExtractUpper256(T, I);
        e.AddInt(I, I, T, 256);
        e.IntToFloat(I, I, 256);
        // −Σ m_j·(bs[2j] + bs[2j+1]) to lane 0: the eight int32, then halves, quarters and pairs added.
        e.PermuteWords(MW, MinIndex, W);
        e.Xor(M, M, M, 256);
        e.DotWords(M, MW, new Mem(NegSums), 256);
        e.ShuffleHalves256(T, M, M, 0b01);
        e.AddInt(M, M, T, 128);
        e.ShuffleInt32(T, M, 0b01_00_11_10);
        e.AddInt(M, M, T, 128);
        e.ShuffleInt32(T, M, 0b10_11_00_01);
        e.AddInt(M, M, T, 128);
        e.IntToFloat(M, M, 128);
        // (d_w, dmin_w) from the head's first two halves, times d_a; d·d_a to every lane, dmin·d_a to lane 0.
        e.HalfToFloat256(D, Head);
        e.MultiplyBroadcast(D, D, new Mem(Act, 256), 256);
        e.PermuteInt32(DB, Zero, D);
        e.ShuffleInt32(DM, D, 0b01_01_01_01);
        e.FusedMultiplyAdd(Acc, I, DB, 256);
        e.FusedMultiplyAdd(Summs, M, DM, 128);
        e.NextIteration(loop, Count, [(X, BlockBytes), (Act, Q5_KActBytes), (NegSums, 32)]);
        e.Store256(new Mem(Lanes), Acc);
        e.StoreScalar(new Mem(Lanes, 32), Summs);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The Q3_K kernel; System V ABI, argument a KLanesDecodeArgs*. It computes DotQ3_KQ8_K.Avx2's lanes and
    /// chain. Per super-block: the sixteen scales by ggml's kmask formula on words (the dwords a0, a1, t of the packed
    /// bytes spread by vpshufd; the word shifts equal the dword ones wherever the masks keep bits), then as words minus
    /// 32. Per chunk pair p (chunks 2p, 2p + 1 take fields 2(p mod 2) and 2(p mod 2) + 1 of qs group p / 2, and hmask
    /// bits 2p and 2p + 1): qs and hmask broadcast to both halves of a zmm, one vgf2p8affineqb each gives u = field | 4·bit
    /// (0..7, q = u − 4), vpmaddubsw against the activation's 64 bytes forms the pair sums of u·q_a, and two vpdpwssd
    /// with the pairs' signed scales (vpermw, as Q6_K's) add sc·Σ u·q_a and sc·(−4·Σ q_a) (the prepared terms): the
    /// spec's pair sums Σ (u − 4)·q_a, scaled and summed, exactly. Adding the halves leaves the spec's eight lanes; acc =
    /// fma(d_w·d_a, lanes, acc) in a ymm.</summary>
    internal static byte[] EmitQ3_K()
    {
        const Gpr X = Gpr.Rsi, Terms = Gpr.R9, Lanes = Gpr.Rax;
        const int BlockBytes = 110, ActBytes = 292;
        // zmm 0: qs; 1: u; 2: hmask bits (then pair sums); 3: scale words; 4: hmask; 5: the packed scales; 6, 7: their
        // unpack; 8: the scales as words; 9: the block's lanes; 10: a temporary; 11: d·d_a; 12: the chain (ymm);
        // 16..31: the constants.
        const int Q = 0, U = 1, Hb = 2, P = 2, SC = 3, H = 4, V = 5, A = 6, T = 7, W = 8, I = 9, Tmp = 10, D = 11, Acc = 12;
        const int Fields = 16, HighBits = 18, Words = 22, ShiftsA = 26, ShiftsT = 27, Three = 28, Fifteen = 29, ThirtyTwo = 30;
        var e = new X86Emitter();
        e.Load(Gpr.Rax, new Mem(Args, 40));
        for (int k = 0; k < 2; k++) e.LoadInt(Fields + k, new Mem(Gpr.Rax, 64 * (Q3Fields + k)));
        for (int p = 0; p < 4; p++) e.LoadInt(HighBits + p, new Mem(Gpr.Rax, 64 * (Q3HighBits + p)));
        for (int k = 0; k < 4; k++) e.LoadInt(Words + k, new Mem(Gpr.Rax, 64 * (Q6Words + k)));
        e.LoadInt(ShiftsA, new Mem(Gpr.Rax, 64 * Q3ShiftsA));
        e.LoadInt(ShiftsT, new Mem(Gpr.Rax, 64 * Q3ShiftsT));
        e.LoadInt(Three, new Mem(Gpr.Rax, 64 * Threes));
        e.LoadInt(Fifteen, new Mem(Gpr.Rax, 64 * Mask));
        e.LoadInt(ThirtyTwo, new Mem(Gpr.Rax, 64 * Thirty2));
        e.LoadFields(Args, X, Count, Act, Terms, Lanes);
        e.Xor(Acc, Acc, Acc, 256);

        int loop = e.Position;
        // Into L2 a page ahead, as EmitQ4_K (110 bytes a super-block: two lines a block cover the row).
        for (int line = 0; line < 2; line++) e.PrefetchL2(new Mem(X, 4096 + 64 * line));
        // Bytes 92..107 as dwords (x, a0, a1, t): ((a0, a1, a0, a1) >> (0, 0, 4, 4)) & 0x0F and ((t ×4) >> (0, 2, 4, 6)
        // & 3) << 4, or-ed: sc0..sc15 + 32 as bytes.
        e.LoadInt(V, new Mem(X, 92), 128);
        e.ShuffleInt32(A, V, 0b10_01_10_01);
        e.ShuffleInt32(T, V, 0b11_11_11_11);
        e.ShiftRightWordsVariable(A, A, ShiftsA);
        e.ShiftRightWordsVariable(T, T, ShiftsT);
        e.And(A, A, Fifteen, 128);
        e.And(T, T, Three, 128);
        e.ShiftLeftWords256(T, T, 4);
        e.Or(A, A, T, 128);
        e.ZeroExtendBytesToWords256(W, A);
        e.SubtractWords(W, W, ThirtyTwo, 256);
        e.BroadcastInt256(H, new Mem(X));
        e.Xor(I, I, I);
        for (int p = 0; p < 4; p++)
        {
            if (p % 2 == 0) e.BroadcastInt256(Q, new Mem(X, 32 + 32 * (p / 2)));
            e.GaloisAffine(U, Q, Fields + p % 2, 0);
            e.GaloisAffine(Hb, H, HighBits + p, 0);
            e.Or(U, U, Hb);
            e.MultiplyAddBytes(P, U, new Mem(Act, 4 + 64 * p));
            e.PermuteWords(SC, Words + p, W);
            e.DotWords(I, P, SC);
            e.DotWords(I, SC, new Mem(Terms, 64 * p));
        }
        e.ExtractUpper256(Tmp, I);
        e.AddInt(I, I, Tmp, 256);
        e.IntToFloat(I, I, 256);
        e.BroadcastWord128(D, new Mem(X, 108));
        e.HalfToFloat256(D, D);
        e.MultiplyBroadcast(D, D, new Mem(Act), 256);
        e.FusedMultiplyAdd(Acc, I, D, 256);
        e.NextIteration(loop, Count, [(X, BlockBytes), (Act, ActBytes), (Terms, 256)]);
        e.Store256(new Mem(Lanes), Acc);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The Q2_K kernel (the blockwise spec, DotQ2_KQ8_K.Avx2Blockwise); System V ABI, argument a
    /// KLanesDecodeArgs* (Terms unread). Per super-block: the 4-bit scales and mins as words; per chunk pair p (the
    /// 2-bit fields of qs group p / 2 as Q3_K takes them, one vgf2p8affineqb) vpmaddubsw against the activation's 64
    /// bytes and vpdpwssd with the pairs' scales (vpermw) add sc·Σ q·q_a into sixteen int32 lanes; one vpdpwssd of the
    /// mins and the bsums gives the eight m·bs lanes. One unpack-and-add tree sums both to (Σ lanes, Σ mins), exactly
    /// the spec's integers; then, in lanes 0 and 1 of one xmm, its two chains acc = fma(Σ lanes, d_w·d_a, acc) and
    /// accm = fma(Σ mins, dmin_w·d_a, accm). The row's result is lane 0 − lane 1.</summary>
    internal static byte[] EmitQ2_K()
    {
        const Gpr X = Gpr.Rsi, Lanes = Gpr.Rax;
        const int BlockBytes = 84, ActBytes = 292;
        // zmm 0: qs; 1: fields; 2: pair sums; 3: scale words; 4: the scale bytes; 5, 6: scales, mins as bytes; 7, 8: as
        // words; 9: the block's lanes; 10: its min lanes; 11: a temporary; 12: the tree; 13: (d, dmin)·d_a; 14: the two
        // chains (xmm); 16..22: the constants.
        const int Q = 0, U = 1, P = 2, SC = 3, S = 4, Lo = 5, Hi = 6, Wsc = 7, Wm = 8, I = 9, M = 10, T = 11, L = 12, D = 13, Acc = 14;
        const int Fields = 16, Words = 18, Fifteen = 22;
        var e = new X86Emitter();
        e.Load(Gpr.Rax, new Mem(Args, 40));
        for (int k = 0; k < 2; k++) e.LoadInt(Fields + k, new Mem(Gpr.Rax, 64 * (Q3Fields + k)));
        for (int k = 0; k < 4; k++) e.LoadInt(Words + k, new Mem(Gpr.Rax, 64 * (Q6Words + k)));
        e.LoadInt(Fifteen, new Mem(Gpr.Rax, 64 * Mask));
        e.LoadFields(Args, X, Count, Act);
        e.LoadFields(Args, 4, Lanes);
        e.Xor(Acc, Acc, Acc, 128);

        int loop = e.Position;
        // Into L2 a page ahead, as EmitQ4_K (84 bytes a super-block: two lines a block cover the row).
        for (int line = 0; line < 2; line++) e.PrefetchL2(new Mem(X, 4096 + 64 * line));
        e.LoadInt(S, new Mem(X), 128);
        e.And(Lo, S, Fifteen, 128);
        e.ZeroExtendBytesToWords256(Wsc, Lo);
        e.ShiftRightWords(Hi, S, 4, 128);
        e.And(Hi, Hi, Fifteen, 128);
        e.ZeroExtendBytesToWords256(Wm, Hi);
        e.Xor(M, M, M, 256);
        e.DotWords(M, Wm, new Mem(Act, 260), 256);
        e.Xor(I, I, I);
        for (int p = 0; p < 4; p++)
        {
            if (p % 2 == 0) e.BroadcastInt256(Q, new Mem(X, 16 + 32 * (p / 2)));
            e.GaloisAffine(U, Q, Fields + p % 2, 0);
            e.MultiplyAddBytes(P, U, new Mem(Act, 4 + 64 * p));
            e.PermuteWords(SC, Words + p, Wsc);
            e.DotWords(I, P, SC);
        }
        // (Σ lanes, Σ mins) in lanes 0 and 1: halves added, then I and M interleaved and added (dwords), pairs of
        // dwords swapped and added, and the two 128-bit halves added.
        e.ExtractUpper256(T, I);
        e.AddInt(I, I, T, 256);
        e.UnpackLowInt32(L, I, M, 256);
        e.UnpackHighInt32(T, I, M, 256);
        e.AddInt(L, L, T, 256);
        e.ShuffleInt32(T, L, 0b01_00_11_10);
        e.AddInt(L, L, T, 256);
        e.ShuffleHalves256(T, L, L, 0b01);
        e.AddInt(L, L, T, 128);
        e.IntToFloat(L, L, 128);
        e.BroadcastInt(D, new Mem(X, 80));
        e.HalfToFloat256(D, D);
        e.MultiplyBroadcast(D, D, new Mem(Act), 128);
        e.FusedMultiplyAdd(Acc, L, D, 128);
        e.NextIteration(loop, Count, [(X, BlockBytes), (Act, ActBytes)]);
        e.Store256(new Mem(Lanes), Acc);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The legacy decode kernel of a form (Q4_1, Q5_0, Q5_1); System V ABI, argument a FourRowDecodeArgs*. It
    /// computes the AVX2 dots' lanes and chains (LegacyLanes.cs: MinDotAvx2, OffsetDotAvx2) for four rows, rows 0 and 1
    /// in one zmm (row 0 in the low half) and rows 2 and 3 in another. Per block and pair: each row's 16 quant bytes in
    /// two 128-bit lanes of its half (one load, one vinserti32x4 for the other row, one vshufi32x4), one vgf2p8affineqb
    /// gives the low nibbles (elements 0..15) and the high ones (16..31) in element order; for Q5 the qh dword of each row
    /// is broadcast to its half, vpshufb puts byte j / 8 at byte j, a mask keeps bit j mod 8 and one vgf2p8affineqb turns
    /// a set bit into 0x10, or-ed in. One vpdpbusd against the activation's 32 bytes in both halves (Q5_0: started from
    /// −16·Σ of each 4-byte piece) gives the spec's int32 lanes exactly. Floats, per the spec: d = fp32(d_w)·fp32(d_a)
    /// by vcvtph2ps and one multiply, acc = fma(d, lanes, acc); Q4_1 and Q5_1 convert each row's (d, m) pair at once,
    /// multiply it by (d_a, s_a) and add m_w·s_a to the mins chain, in lanes 0 and 8 of a zmm per pair.</summary>
    internal static byte[] EmitLegacy(LegacyForm form)
    {
        const Gpr X = Gpr.Rsi, X2 = Gpr.Rdx, Stride = Gpr.R11, Terms = Gpr.R10, Lanes = Gpr.Rax;
        bool mins = form != LegacyForm.Q5_0, q5 = form != LegacyForm.Q4_1;
        int blockBytes = form switch { LegacyForm.Q4_1 => 20, LegacyForm.Q5_0 => 22, _ => 24 };
        int qsAt = blockBytes - 16, qhAt = mins ? 4 : 2, actBytes = mins ? 36 : 34, actQs = mins ? 4 : 2;
        // zmm 0: the activation's quants (both halves); 1: its terms; 4 + 6p .. 9 + 6p: pair p's quants, values, high
        // bits (a temporary), lanes, scales and mins term; 16 + p: pair p's acc chains; 18 + p: its mins chains;
        // 20..23: the constants.
        const int Y = 0, T = 1, Acc = 16, Mins = 18, Nibbles = 20, Spread = 21, Bits = 22, AnyBit = 23;
        var e = new X86Emitter();
        e.Load(Gpr.Rax, new Mem(Args, 56));
        e.LoadInt(Nibbles, new Mem(Gpr.Rax, 64 * NibbleLanes));
        e.LoadInt(Spread, new Mem(Gpr.Rax, 64 * QhSpread));
        e.LoadInt(Bits, new Mem(Gpr.Rax, 64 * BitOfByte));
        e.LoadInt(AnyBit, new Mem(Gpr.Rax, 64 * AnyBitTo4));
        e.LoadFields(Args, X, Stride, Count, Act, Terms, Da, Lanes);
        e.Lea(X2, new Mem(X, 0, Stride, 2));
        for (int p = 0; p < 2; p++)
        {
            e.Xor(Acc + p, Acc + p, Acc + p);
            e.Xor(Mins + p, Mins + p, Mins + p);
        }

        int loop = e.Position;
        e.BroadcastInt256(Y, new Mem(Act, actQs));
        if (!mins) e.BroadcastInt256(T, new Mem(Terms));
        for (int p = 0; p < 2; p++)
        {
            Gpr x = p == 0 ? X : X2;
            int q = 4 + 6 * p, u = q + 1, h = q + 2, lanes = q + 3, d = q + 4, m = q + 5;
            e.LoadInt(q, new Mem(x, qsAt), 128);
            e.InsertQuarter(q, q, new Mem(x, qsAt, Stride), 2);
            e.ShuffleQuarters(q, q, q, 0b10_10_00_00);
            e.GaloisAffine(u, q, Nibbles, 0);
            if (q5)
            {
                e.BroadcastInt(h, new Mem(x, qhAt));
                e.BroadcastInt(d, new Mem(x, qhAt, Stride));
                e.InsertUpper256(h, h, d);
                e.ShuffleBytes(h, h, Spread);
                e.And(h, h, Bits);
                e.GaloisAffine(h, h, AnyBit, 0);
                e.Or(u, u, h);
            }
            if (mins) e.Xor(lanes, lanes, lanes);
            else e.Move(lanes, T);
            e.DotBytes(lanes, u, Y);
            e.IntToFloat(lanes, lanes);
            if (mins)
            {
                // (d, m) of each row in every dword of its half, to fp32 pairs, times (d_a, s_a).
                e.BroadcastInt(d, new Mem(x));
                e.BroadcastInt(m, new Mem(x, 0, Stride));
                e.InsertUpper128(d, d, m);
                e.HalfToFloat(d, d);
                e.Multiply(d, d, new Mem(Da));
                e.ShuffleInt32(m, d, 0b01_01_01_01, 512);
                e.ShuffleInt32(d, d, 0, 512);
                e.AddFloat(Mins + p, Mins + p, m);
            }
            else
            {
                e.BroadcastWord128(d, new Mem(x));
                e.BroadcastWord128(m, new Mem(x, 0, Stride));
                e.InsertUpper128(d, d, m);
                e.HalfToFloat(d, d);
                e.MultiplyBroadcast(d, d, new Mem(Da));
            }
            e.FusedMultiplyAdd(Acc + p, lanes, d);
        }
        e.NextIteration(loop, Count, [(X, blockBytes), (X2, blockBytes), (Act, actBytes), (Terms, 32), (Da, mins ? 64 : 4)]);
        for (int p = 0; p < 2; p++) e.StoreFloat(new Mem(Lanes, 64 * p), Acc + p);
        if (mins)
            for (int p = 0; p < 2; p++) e.StoreFloat(new Mem(Lanes, 128 + 64 * p), Mins + p);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The Q8_0 kernel; System V ABI, argument a FourRowDecodeArgs*. Rows 0 and 1 share one zmm, row 0 in the
    /// low half, and rows 2 and 3 another. Per block: each pair's 32 + 32 quant bytes by one load and one vinserti64x4,
    /// their sign bits flipped (w + 128 as an unsigned byte), one vpdpbusd against the activation's 32 bytes in both
    /// halves, started from the −128·Σ terms, gives the spec's int32 lanes exactly; the pair's two fp16 scales are
    /// broadcast, put side by side (vinserti32x4) and converted by vcvtph2ps, times d_a; one fma per pair carries
    /// both rows' chains. No software prefetch: prefetcht1 of each row two pages ahead measured no better in tinyllama
    /// Q8_0 tg (1 thread 31.7 → 31.0 t/s, 2 threads within the bandwidth's noise).</summary>
    internal static byte[] EmitQ8_0()
    {
        const Gpr X = Gpr.Rsi, X2 = Gpr.Rdx, Stride = Gpr.R11, Terms = Gpr.R10, Lanes = Gpr.Rax;
        const int BlockBytes = 34;
        // zmm 0: sign bits; 1: the activation; 2: its terms; 4 + 4p .. 7 + 4p: pair p's quants, lanes, scales and
        // scale temporary; 16 + p: pair p's chains.
        const int Flip = 0, Y = 1, T = 2, Acc = 16;
        var e = new X86Emitter();
        e.Load(Gpr.Rax, new Mem(Args, 56));
        e.LoadInt(Flip, new Mem(Gpr.Rax, 64 * SignBits));
        e.LoadFields(Args, X, Stride, Count, Act, Terms, Da, Lanes);
        e.Lea(X2, new Mem(X, 0, Stride, 2));
        e.Xor(Acc, Acc, Acc);
        e.Xor(Acc + 1, Acc + 1, Acc + 1);

        int loop = e.Position;
        e.BroadcastInt256(Y, new Mem(Act, 2));
        e.BroadcastInt256(T, new Mem(Terms));
        for (int p = 0; p < 2; p++)
        {
            Gpr x = p == 0 ? X : X2;
            int q = 4 + 4 * p, lanes = q + 1, d = q + 2, d1 = q + 3;
            e.LoadInt(q, new Mem(x, 2), 256);
            e.InsertUpper256(q, q, new Mem(x, 2, Stride));
            e.Xor(q, q, Flip);
            e.Move(lanes, T);
            e.DotBytes(lanes, q, Y);
            e.IntToFloat(lanes, lanes);
            e.BroadcastWord128(d, new Mem(x));
            e.BroadcastWord128(d1, new Mem(x, 0, Stride));
            e.InsertUpper128(d, d, d1);
            e.HalfToFloat(d, d);
            e.MultiplyBroadcast(d, d, new Mem(Da));
            e.FusedMultiplyAdd(Acc + p, lanes, d);
        }
        e.NextIteration(loop, Count, [(X, BlockBytes), (X2, BlockBytes), (Act, BlockBytes), (Terms, 32), (Da, 4)]);
        e.StoreFloat(new Mem(Lanes), Acc);
        e.StoreFloat(new Mem(Lanes, 64), Acc + 1);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The Q6_K kernel; System V ABI, argument a KLanesDecodeArgs*. The AVX2 dot's lanes (DotQ6_KQ8_K.Avx2.cs)
    /// two chunks a zmm: per group g and half p, a group's 64 ql bytes in one load and its 32 qh bytes in both halves,
    /// each half's qh bits moved to bits 4..5 by vpsllvw/vpsrlvw (the ql nibble shifted down by vpsrlw for p = 1) and
    /// merged by one vpternlogd under the 0x0F mask: chunks 4g + 2p and 4g + 2p + 1 unsigned, in element order, against
    /// the activation's 64 bytes as they lie. vpmaddubsw (at most 2·63·128, no saturation) and vpdpwssd with the
    /// chunk pair's scale words (vpermw of the sign-extended scales) add into one zmm of lanes whose halves are then
    /// added; the −32·Σ sc·bsums offset is one vpdpwssd of 32·sc against the negated bsums. Then the spec's chain:
    /// lanes to fp32, one fma with fp32(d_w)·d_a (vcvtph2ps) per super-block.</summary>
    internal static byte[] EmitQ6_K()
    {
        const Gpr X = Gpr.Rsi, NegSums = Gpr.R9, Lanes = Gpr.Rax;
        const int BlockBytes = 210, ActBytes = 292;
        // zmm 0: ql bytes; 1: qh bytes; 2: quants; 3: shifted ql; 4: pair sums; 5: scale words; 6: widened scales;
        // 8: the block's int32 lanes; 9: the chain; 10: d; 11: a temporary; 16..24: the constants.
        const int L = 0, H = 1, Q = 2, Ls = 3, P = 4, SC = 5, W = 6, I = 8, Acc = 9, D = 10, T = 11;
        const int Low = 16, High = 17, Up = 18, Down = 19, Words = 20;
        var e = new X86Emitter();
        e.Load(Gpr.Rax, new Mem(Args, 40));
        e.LoadInt(Low, new Mem(Gpr.Rax, 64 * Mask));
        e.LoadInt(High, new Mem(Gpr.Rax, 64 * HighBits));
        e.LoadInt(Up, new Mem(Gpr.Rax, 64 * ShiftsUp));
        e.LoadInt(Down, new Mem(Gpr.Rax, 64 * ShiftsDown));
        for (int k = 0; k < 4; k++) e.LoadInt(Words + k, new Mem(Gpr.Rax, 64 * (Q6Words + k)));
        e.LoadFields(Args, X, Count, Act, NegSums, Lanes);
        e.Xor(Acc, Acc, Acc, 256);

        int loop = e.Position;
        // Into L2 a page ahead, as the AVX2 dot's four lines into L1.
        for (int line = 0; line < 4; line++) e.PrefetchL2(new Mem(X, 4096 + 64 * line));
        e.SignExtendBytesToWords256(W, new Mem(X, 192));
        e.Xor(I, I, I);
        for (int g = 0; g < 2; g++)
        {
            e.LoadInt(L, new Mem(X, 64 * g));
            e.BroadcastInt256(H, new Mem(X, 128 + 32 * g));
            for (int p = 0; p < 2; p++)
            {
                int low = L;
                if (p == 0) e.ShiftLeftWordsVariable(Q, H, Up);
                else
                {
                    e.ShiftRightWords(Ls, L, 4);
                    e.ShiftRightWordsVariable(Q, H, Down);
                    low = Ls;
                }
                e.And(Q, Q, High);
                e.TernaryLogic(Q, low, Low, 0xD8);   // Low ? low : Q
                e.MultiplyAddBytes(P, Q, new Mem(Act, 4 + 128 * g + 64 * p));
                e.PermuteWords(SC, Words + 2 * g + p, W);
                e.DotWords(I, P, SC);
            }
        }
        e.ExtractUpper256(T, I);
        e.AddInt(I, I, T, 256);
        e.ShiftLeftWords256(W, W, 5);
        e.DotWords(I, W, new Mem(NegSums), 256);
        e.IntToFloat(I, I, 256);
        e.BroadcastWord128(D, new Mem(X, 208));
        e.HalfToFloat256(D, D);
        e.MultiplyBroadcast(D, D, new Mem(Act), 256);
        e.FusedMultiplyAdd(Acc, I, D, 256);
        e.NextIteration(loop, Count, [(X, BlockBytes), (Act, ActBytes), (NegSums, 32)]);
        e.Store256(new Mem(Lanes), Acc);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    // General registers: the weight rows, the group count, the activation, its scales and eights, the outputs and the
    // second row's output offset.
    private const Gpr Args = Gpr.Rdi, X0 = Gpr.Rsi, X1 = Gpr.Rdx, Count = Gpr.Rcx, Act = Gpr.R8, Da = Gpr.R9,
        Eights = Gpr.R10, S = Gpr.R11, D = Gpr.Rax, Next = Gpr.Rdi;

    /// <summary>The Q4_0 kernel; System V ABI, argument a DecodeTermsArgs*.</summary>
    internal static byte[] EmitQ4_0()
    {
        var e = new X86Emitter();
        LoadQ4_0Constants(e);
        e.LoadFields(Args, X0, X1, Count, Act, Da, Eights, S, D, Next);

        int loop = e.Position;
        EmitQ4_0PairGroup(e, new Mem(D), new Mem(D, 0, Next));
        e.Store256(new Mem(S), PairSums);
        e.StoreUpper256(new Mem(S, 0, Next), PairSums);
        e.NextIteration(loop, Count, [(X0, 8 * 18), (X1, 8 * 18), (Act, 256), (Da, 32), (Eights, 32), (S, 32), (D, 32)]);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The Q4_0 kernel in runs of sixteen rows; System V ABI, argument a Q4_0RunsArgs*. A run's eight row
    /// pairs (X0 + j·row and X1 + j·row) go through the pair kernel's group code one pair after the other, each row
    /// read once from start to end as that kernel reads it; per group, pair j's sums (its first row's eight blocks in
    /// the low half, its second row's in the high) and d terms go to slot j of the group's KiB in Scratch. The run's
    /// chains follow per group: its eight sum vectors transposed, and its eight d vectors (vpunpck{l,h}dq,
    /// vpunpck{l,h}qdq, vshufi32x4), so that vector k holds block k of all sixteen rows (lanes: the first rows of
    /// pairs 0..3, the second rows of 0..3, the first of 4..7, the second of 4..7), and one vfmadd per block, in block
    /// order, runs all sixteen chains: each lane is its row's blockwise spec chain, the same fmas on the same terms as
    /// the pair kernel's driver.</summary>
    internal static byte[] EmitQ4_0Runs()
    {
        const Gpr Pairs = Gpr.Rbx, Slot = Gpr.R12, Out = Gpr.R13, Left = Gpr.R14;
        const int SlotBytes = 64, GroupBytes = 16 * SlotBytes;
        const int Scratch = 48, Y0 = 56, YDelta = 64, Runs = 80;   // Constants at 72, as in every Q4_0 kernel's args
        Gpr[] saved = [Pairs, Slot, Out, Left];
        var e = new X86Emitter();
        foreach (var r in saved) e.Push(r);
        LoadQ4_0Constants(e);
        e.LoadFields(Args, X0, X1);
        e.Load(Out, new Mem(Args, Y0));
        e.Load(Left, new Mem(Args, Runs));

        int run = e.Position;
        e.Load(Slot, new Mem(Args, Scratch));
        e.Set(Pairs, 8);
        int pair = e.Position;
        e.LoadFields(Args, 2, Count, Act, Da, Eights);
        e.Lea(S, new Mem(Slot));
        int group = e.Position;
        EmitQ4_0PairGroup(e, new Mem(S, 8 * SlotBytes), new Mem(S, 8 * SlotBytes + 32));
        e.StoreFloat(new Mem(S), PairSums);
        e.NextIteration(group, Count, [(X0, 8 * 18), (X1, 8 * 18), (Act, 256), (Da, 32), (Eights, 32), (S, GroupBytes)]);
        // Rows are Groups·144 bytes, so X0 and X1 are at the next pair's rows already.
        e.Add(Slot, SlotBytes);
        e.Sub(Pairs, 1);
        e.JumpIfNotZero(pair);

        e.Load(S, new Mem(Args, Scratch));
        e.Load(Count, new Mem(Args, 16));
        e.Xor(Acc, Acc, Acc);
        int chain = e.Position;
        ChainGroup(e, S);
        e.NextIteration(chain, Count, [(S, GroupBytes)]);
        e.ShuffleQuarters(Acc, Acc, Acc, 0b11_01_10_00);   // lanes to the first rows 0..7, then the second
        e.Load(Gpr.Rax, new Mem(Args, YDelta));
        e.Store256(new Mem(Out), Acc);
        e.StoreUpper256(new Mem(Out, 0, Gpr.Rax), Acc);
        e.Add(Out, 32);
        e.Sub(Left, 1);
        e.JumpIfNotZero(run);

        for (int i = saved.Length - 1; i >= 0; i--) e.Pop(saved[i]);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The Q4_0 four-row kernel; System V ABI, argument a Q4_0QuadArgs*. Rows X, X + Stride, X + 2·Stride and
    /// X + 3·Stride go through the pair kernel's group code as two pairs, each row read once from start to end; per
    /// group the two pairs' sums and d terms stay in registers, and per block one vpermi2ps of the sums and one of the
    /// d terms put the four rows' terms of that block in lanes 0..3, and one vfmadd runs the four rows' chains, in block
    /// order: the blockwise spec's chains, with no buffer of terms (a run of sixteen long rows keeps more terms than
    /// the L1 holds while its weights pass through).</summary>
    internal static byte[] EmitQ4_0Quad()
    {
        const Gpr X2 = Gpr.R11, X3 = Gpr.Rax, Table = Gpr.Rbx;
        const int Lanes = 48, ConstantsField = 56, Sums01 = 27, D01 = 28, D23 = 29, TermS = 8, TermD = 9;
        var e = new X86Emitter();
        e.Push(Table);
        LoadQ4_0Constants(e, ConstantsField);
        e.Load(Table, new Mem(Args, ConstantsField));
        e.LoadFields(Args, X0, X2, Count, Act, Da, Eights);   // X2: the stride for now
        e.Lea(X1, new Mem(X0, 0, X2));
        e.Lea(X3, new Mem(X1, 0, X2, 2));
        e.Lea(X2, new Mem(X0, 0, X2, 2));
        e.Xor(Acc, Acc, Acc);

        int loop = e.Position;
        EmitQ4_0PairGroup(e, null, null);
        e.Move(Sums01, PairSums);
        e.InsertUpper256(D01, 7, 15);
        EmitQ4_0PairGroup(e, null, null, X2, X3);
        e.InsertUpper256(D23, 7, 15);
        for (int k = 0; k < 8; k++)
        {
            var index = new Mem(Table, 64 * (QuadLanes + k));
            e.LoadInt(TermS, index);
            e.PermuteFloats2(TermS, Sums01, PairSums);
            e.LoadInt(TermD, index);
            e.PermuteFloats2(TermD, D01, D23);
            e.FusedMultiplyAdd(Acc, TermS, TermD);
        }
        e.NextIteration(loop, Count, [(X0, 8 * 18), (X1, 8 * 18), (X2, 8 * 18), (X3, 8 * 18), (Act, 256), (Da, 32), (Eights, 32)]);
        e.Load(X0, new Mem(Args, Lanes));
        e.Store256(new Mem(X0), Acc);
        e.Pop(Table);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    // The runs kernel's chain accumulator (sixteen rows' chains).
    private const int Acc = 31;

    /// <summary>One group of a run's chains from its KiB at src: the eight sum vectors and the eight d vectors
    /// transposed (into zmm 8..15, and 16..19, 26..29: registers the pair code loads afresh each group, not the
    /// constants it keeps), then one fma per block into Acc.</summary>
    private static void ChainGroup(X86Emitter e, Gpr src)
    {
        ReadOnlySpan<int> sums = [8, 9, 10, 11, 12, 13, 14, 15], ds = [16, 17, 18, 19, 26, 27, 28, 29];
        for (int j = 0; j < 8; j++) e.LoadFloat(j, new Mem(src, 64 * j));
        TransposeBlocks(e, 0, sums);
        for (int j = 0; j < 8; j++) e.LoadFloat(j, new Mem(src, 64 * (8 + j)));
        TransposeBlocks(e, 0, ds);
        for (int k = 0; k < 8; k++) e.FusedMultiplyAdd(Acc, sums[k], ds[k]);
    }

    /// <summary>zmm v .. v + 7, eight row pairs' vectors (a row's eight blocks per 256-bit half), transposed into
    /// o[0..7]: o[k] holds block k, its lanes (pair 0..3, first row), (0..3, second), (4..7, first), (4..7,
    /// second). Overwrites v .. v + 7.</summary>
    private static void TransposeBlocks(X86Emitter e, int v, ReadOnlySpan<int> o)
    {
        for (int i = 0; i < 8; i += 2)
        {
            e.UnpackLowInt32(o[i], v + i, v + i + 1);
            e.UnpackHighInt32(o[i + 1], v + i, v + i + 1);
        }
        // Per 128-bit quarter, v + m now holds element m of that quarter of pairs 0..3 (m < 4) or 4..7 (m ≥ 4).
        for (int i = 0; i < 8; i += 4)
        {
            e.UnpackLowInt64(v + i, o[i], o[i + 2]);
            e.UnpackHighInt64(v + i + 1, o[i], o[i + 2]);
            e.UnpackLowInt64(v + i + 2, o[i + 1], o[i + 3]);
            e.UnpackHighInt64(v + i + 3, o[i + 1], o[i + 3]);
        }
        // Quarters 0 and 2 of v + k hold block k of the two rows, quarters 1 and 3 block 4 + k.
        for (int k = 0; k < 4; k++)
        {
            e.ShuffleQuarters(o[k], v + k, v + 4 + k, 0b10_00_10_00);
            e.ShuffleQuarters(o[4 + k], v + k, v + 4 + k, 0b11_01_11_01);
        }
    }

    // zmm 8h + 0..7: row h's two loads, nibble vectors, a nibble temporary, two sums and its scales; 16..19: the
    // activation; 20..25: the constants; 26: the eights; 0..4, free once row 0's sums are made: the tree, PairSums its
    // result. 27..31 stay free (the runs kernel's).
    private const int Y = 16, C = 20, E = 26, T = 0, PairSums = T + 4;

    private static void LoadQ4_0Constants(X86Emitter e, int field = 72)
    {
        e.Load(Gpr.Rax, new Mem(Args, field));
        for (int i = 0; i <= ShiftMatrix; i++) e.LoadInt(C + i, new Mem(Gpr.Rax, 64 * i));
    }

    /// <summary>One group of eight blocks of the row pair at x0 and x1 against the activation at Act, Da and Eights:
    /// each row's d terms stored at d0 and d1 (eight floats each; without them left in ymm 7 and 15), the pair's
    /// float sums left in PairSums (row x0's eight blocks in the low half, x1's in the high).</summary>
    private static void EmitQ4_0PairGroup(X86Emitter e, Mem? d0, Mem? d1, Gpr x0 = X0, Gpr x1 = X1)
    {
        for (int i = 0; i < 4; i++) e.LoadInt(Y + i, new Mem(Act, 64 * i));
        e.BroadcastInt256(E, new Mem(Eights));
        for (int h = 0; h < 2; h++)
        {
            Gpr x = h == 0 ? x0 : x1;
            int a0 = 8 * h, a1 = a0 + 1, n0 = a0 + 2, n1 = a0 + 3, t = a0 + 4, s0 = a0 + 5, s1 = a0 + 6, sc = a0 + 7;
            for (int line = 0; line < 3; line++) e.PrefetchL2(new Mem(x, IntDotAvx2.L2PrefetchDistance + 64 * line));
            e.LoadInt(a0, new Mem(x));
            e.LoadInt(a1, new Mem(x, 64));
            e.Move(n0, C + IndexLow);
            e.PermuteBytes(n0, a0, a1);
            e.Move(n1, C + IndexHigh);
            e.PermuteBytes(n1, a1, new Mem(x, 80));
            e.Move(sc, C + IndexScales);
            e.PermuteBytes(sc, a0, a1);
            for (int half = 0; half < 2; half++)
            {
                int n = half == 0 ? n0 : n1, sum = half == 0 ? s0 : s1;
                e.Xor(sum, sum, sum);
                e.And(t, n, C + Mask);
                e.DotBytes(sum, t, Y + 2 * half);
                e.GaloisAffine(t, n, C + ShiftMatrix, 0);
                e.DotBytes(sum, t, Y + 2 * half + 1);
            }
            e.HalfToFloat256(sc, sc);
            e.Multiply256(sc, sc, new Mem(Da));
            if ((h == 0 ? d0 : d1) is Mem d) e.Store256(d, sc);
        }
        // Row 0's sums (5: blocks 0..3, 6: blocks 4..7, one per quarter) and row 1's (13, 14): per quarter q, block
        // sums of row 0's q and 4 + q and row 1's q and 4 + q.
        e.UnpackLowInt32(T, 5, 6);
        e.UnpackHighInt32(T + 1, 5, 6);
        e.AddInt(T, T, T + 1);
        e.UnpackLowInt32(T + 2, 13, 14);
        e.UnpackHighInt32(T + 3, 13, 14);
        e.AddInt(T + 2, T + 2, T + 3);
        e.UnpackLowInt64(T + 1, T, T + 2);
        e.UnpackHighInt64(T + 3, T, T + 2);
        e.AddInt(T + 1, T + 1, T + 3);
        e.PermuteInt32(PairSums, C + Order, T + 1);
        e.SubtractInt(PairSums, PairSums, E);
        e.IntToFloat(PairSums, PairSums);
    }
}
