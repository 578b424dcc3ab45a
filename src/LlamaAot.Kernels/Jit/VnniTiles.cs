// Prompt tiles with AVX-512 VNNI's vpdpbusd, emitted as machine code at start-up (Jit/X86Emitter.cs): .NET 9 and
// 10 expose VNNI only as AVX-VNNI (VEX, 256-bit), which Zen 4 and Ice Lake-server lack although they have the 512-bit
// EVEX form. One vpdpbusd does what vpmaddubsw, vpaddw and vpmaddwd do together, so it takes a third of the integer
// work off the tile.
//   Q4_0 (the blockwise spec, DotQ4_0Q8_0.Avx512BlockwiseTile16's layout): per block, the tile's eight nibble
//   vectors (int32 lane i = weight row i) and its sixteen fp32 scales are loaded once; per activation row j the int32
//   sum starts at −8·Σq_a of the block (a broadcast), takes the eight 4-byte pieces of the activation block by
//   broadcast operands of vpdpbusd (unsigned nibbles × signed int8, summed exactly in int32), and then follows the
//   spec: acc_j = fma(float(sumi), d_w·d_a, acc_j). The integer sum is the same integer the intrinsic kernel forms and
//   the float operations are the same, so the results are bit-identical to it and to ReferenceBlockwise.
//   Q4_K (DotQ4_KQ8_K.Avx512BlockwiseTile16's table): per 16 bytes of quants h, the eight nibble vectors are loaded
//   once; per activation row the four pieces of sub-block 2p (low nibbles) sum by vpdpbusd into one int32 vector
//   (≤ 16·15·128 < 2^15 per lane, so the int32 is its own sign-extended int16) and vpdpwssd against the int32 scale
//   (the int16 pair (sc, 0)) adds sc·Σ to the row's sumi; the same for sub-block 2p+1. At the super-block's end summ
//   comes from four vpdpwssd of the min pairs and the activation's sub-block sum pairs, and the spec's two fma chains
//   (kept in memory, Q4_KTileArgs.Chains) take fma(sumi, d_w·d_a) and fma(summ, dmin_w·d_a). Integer sums are exact in
//   any order and the float operations are the intrinsic tile's, so the results are bit-identical to it.
//   Q8_0 (the 8-lane spec, LegacyOrder: per block, lane c of a row is the int32 sum of its elements 4c..4c+3, and
//   acc_c = fma(d_w·d_a, lane_c, acc_c); the result is Hsum8(acc)): the tile holds the sixteen rows' bytes with their
//   sign bit flipped (w + 128, unsigned), in the same eight piece vectors, piece c in vector c. Per activation row and
//   piece c, one int32 vector starts at −128·Σ of the activation's piece c (a broadcast), and one vpdpbusd against
//   the piece (broadcast) leaves lane i = Σ (w + 128)·q_a − 128·Σ q_a = row i's spec lane c, exactly. It goes to float
//   and into chain c of that activation row: eight chains per activation row, one per spec lane, sixteen weight rows
//   in each; at the end Hsum8's tree of vector adds, lane-wise the scalar tree. Two activation rows a call keep their
//   sixteen chains and the eight weight vectors in registers.
//   Q6_K (the spec's 8 lanes of AVX2 arithmetic, DotQ6_KQ8_K.Avx2): one weight row against eight activation rows.
//   Per super-block the row's table (DotQ6_KQ8_K.Table) holds its quants unsigned, two 32-element chunks per zmm
//   (int32 lane j of each half = elements 4j..4j+3 of that chunk, the spec's lane j), per zmm the int32 scale of
//   each lane's sub-block as the int16 pair (sc, 0), then −32·sc as int16 and fp32(d_w). Per activation row and
//   zmm: vpdpbusd from zero gives the four products' sum (|Σ| ≤ 4·63·128 < 2^15, so the int32 is its own int16) and
//   vpdpwssd adds sc·Σ to the row's lanes. The two halves add (exact), one 256-bit vpdpwssd of the bsums against
//   −32·sc takes off the spec's offset (sc·bs pairs by lane, times 32, in int32), and the spec's chain runs:
//   acc = fma(cvt(lanes), d_w·d_a, acc), eight chains of eight lanes kept in ymm registers across the row; the driver
//   finishes each with Hsum8. vpdpbusd and vpdpwssd run at twice the rate of vpmaddubsw and vpmaddwd on Zen 4.
//   Q5_K (DotQ5_KQ8_K.Avx2's arithmetic) in the same kernel: one scale per 32-element chunk, no offset in the lanes;
//   instead each activation row's Σ m_j·(bs[2j] + bs[2j+1]) (one 256-bit vpdpwssd of the bsums against each min
//   twice, summed across lanes: the eight rows' at once, row j's total in lane j) feeds the spec's scalar chain
//   summs = fma(−d_a·dmin_w, Σ, summs), row j's in lane j of a vector in memory.
//   Q3_K (DotQ3_KQ8_K.Avx2's arithmetic) in the same kernel, with the operands' roles swapped: the spec's quants
//   q = u − 4 are signed (−4..3), so the activation is the unsigned side, a + 128 (a copy made once per batch tile,
//   KQuantVnniRows.PrepareFlipped), and each piece sum starts from the table's −128·Σ of the lane's four q: vpdpbusd
//   then leaves Σ q·a exactly (|·| ≤ 2048) per spec lane; the scale is the signed sc − 32 of the lane's 16-element
//   sub-block, and no offset follows.
//   Set LLAMA_AOT_VNNI=0 to keep the intrinsic kernels.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Jit;

/// <summary>One call of an emitted Q4_0 or Q8_0 tile: Blocks blocks of sixteen weight rows (Tile: TileBlockBytes per
/// block) against a few activation rows.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BlockTileArgs
{
    /// <summary>The unpacked weight tile: per block eight vectors of row pieces (Q4_0: nibbles; Q8_0: bytes + 128),
    /// then sixteen fp32 scales.</summary>
    public byte* Tile;
    /// <summary>The activation terms, per block: Q4_0, 16 values for up to eight activation rows (fp32 d_a of row j at
    /// j, int32 −8·Σq_a at 8 + j); Q8_0, Q8_0TermsPerBlock values for two rows (fp32 d_a of row j at j, int32 −128·Σ of
    /// its piece c at 2 + 8j + c).</summary>
    public byte* Terms;
    /// <summary>Activation row 0's first block quants (past its fp16 scale); row j is ActRowBytes·j further.</summary>
    public byte* Act;
    public long ActRowBytes;
    public long Blocks;
    /// <summary>Row j's sixteen results go to Y + j·YStrideBytes.</summary>
    public float* Y;
    public long YStrideBytes;
    /// <summary>The two-tile Q4_0 kernel (EmitQ4_0Pair) prefetches into L2 one line a block from here on: the caller's
    /// next weight rows, fetched over its calls at the pace of the arithmetic.</summary>
    public byte* Prefetch;
}

/// <summary>One call of an emitted Q4_K tile: Blocks super-blocks of sixteen weight rows (Table: Q4_KTableVectors
/// per super-block) against 8 or 4 activation rows.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Q4_KTileArgs
{
    public byte* Table;
    /// <summary>Per super-block, 40 values for up to eight activation rows: fp32 d_a of row j at j, and its four
    /// sub-block sum pairs (S_2q, S_2q+1 as int16) at 8 + 4j + q.</summary>
    public byte* Terms;
    /// <summary>Activation row 0's first super-block quants (past its fp32 d); row j is ActRowBytes·j further.</summary>
    public byte* Act;
    public long ActRowBytes;
    public long Blocks;
    /// <summary>Row j's acc chain at Chains + 128·j and its accm chain 64 bytes on (sixteen fp32 each), updated.</summary>
    public float* Chains;
}

/// <summary>One call of an emitted Q6_K, Q5_K or Q3_K row kernel: Blocks super-blocks of one weight row (Table:
/// KRowTableVectors per super-block) against eight activation rows.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KRowArgs
{
    public byte* Table;
    /// <summary>Activation row j's eight fp32 acc lanes go out at Chains + 8j (the driver's Hsum8 finishes them); Q5_K's
    /// summs chains of the eight rows live at Chains + 64, row j's in lane j, zeroed by the driver before the
    /// call.</summary>
    public float* Chains;
    /// <summary>Activation row 0's first super-block quants (past its fp32 d); row j is ActRowBytes·j further.</summary>
    public byte* Act;
    public long ActRowBytes;
    public long Blocks;
    /// <summary>Q5_K: per super-block the eight activation rows' fp32 d (eight floats a super-block).</summary>
    public float* Da;
}

/// <summary>The three forms of the K-quant row kernel.</summary>
internal enum KRowForm { Q6_K, Q5_K, Q3_K }

internal static unsafe class VnniTiles
{
    /// <summary>Bytes per block of an unpacked Q4_0 or Q8_0 tile (eight 64-byte piece vectors, sixteen fp32 scales).</summary>
    public const int TileBlockBytes = 8 * 64 + 16 * sizeof(float);

    /// <summary>Bytes per block of the Q4_0 activation terms (BlockTileArgs.Terms).</summary>
    public const int TermsBlockBytes = 16 * sizeof(int);

    /// <summary>Ints per block of the Q8_0 activation terms of a pair of activation rows (BlockTileArgs.Terms).</summary>
    public const int Q8_0TermsPerBlock = 2 + 2 * 8;

    /// <summary>Ints per block of the Q8_1 activation terms of a pair of activation rows (the legacy min formats' tile):
    /// Q8_0TermsPerBlock's, then fp32 s_a of row j at 18 + j (read by the driver, not the kernel).</summary>
    public const int Q8_1TermsPerBlock = Q8_0TermsPerBlock + 2;

    /// <summary>Q4_K tile table, in Vector512 per super-block: (sc, sc) int16 pairs 0..7, min pairs 8..11, d 12, dmin
    /// 13, int32 scales 14..21, then 64 vectors of unpacked quants (DotQ4_KQ8_K.Quants).</summary>
    public const int Q4_KMinPairsAt = 8, Q4_KDAt = 12, Q4_KDMinAt = 13, Q4_KScalesAt = 14, Q4_KQuantsAt = 22, Q4_KTableVectors = Q4_KQuantsAt + 64;

    /// <summary>Ints per super-block of the Q4_K activation terms (Q4_KTileArgs.Terms).</summary>
    public const int Q4_KTermsPerBlock = 40;

    private const int ActBlockBytes = 34, Q8_1BlockBytes = 36, ActSuperBlockBytes = 292;   // BlockQ8_0, BlockQ8_1, BlockQ8_K

    private static readonly delegate* unmanaged[SuppressGCTransition]<BlockTileArgs*, void> Q4_0Eight, Q4_0Four, Q4_0PairEight, Q4_0PairFour, Q8_0Pair,
        Q8_1Pair;
    private static readonly delegate* unmanaged[SuppressGCTransition]<Q4_KTileArgs*, void> Q4_KEight, Q4_KFour;
    private static readonly delegate* unmanaged[SuppressGCTransition]<KRowArgs*, void> Q6_KEight, Q5_KEight, Q3_KEight;

    static VnniTiles()
    {
        if (!CpuHasVnni || Environment.GetEnvironmentVariable("LLAMA_AOT_VNNI") == "0") return;
        void* q40e = ExecutableMemory.Load(EmitQ4_0(8)), q40f = ExecutableMemory.Load(EmitQ4_0(4));
        void* q40pe = ExecutableMemory.Load(EmitQ4_0Pair(8)), q40pf = ExecutableMemory.Load(EmitQ4_0Pair(4));
        void* q4ke = ExecutableMemory.Load(EmitQ4_K(8)), q4kf = ExecutableMemory.Load(EmitQ4_K(4)), q80 = ExecutableMemory.Load(EmitQ8_0());
        void* q81 = ExecutableMemory.Load(EmitQ8_0(Q8_1BlockBytes, Q8_1TermsPerBlock));
        void* q6k = ExecutableMemory.Load(EmitQ6_K()), q5k = ExecutableMemory.Load(EmitQ5_K()), q3k = ExecutableMemory.Load(EmitQ3_K());
        if (q40e == null || q40f == null || q4ke == null || q4kf == null || q80 == null || q6k == null || q5k == null || q3k == null
            || q81 == null || q40pe == null || q40pf == null)
            return;
        Q3_KEight = (delegate* unmanaged[SuppressGCTransition]<KRowArgs*, void>)q3k;
        Q6_KEight = (delegate* unmanaged[SuppressGCTransition]<KRowArgs*, void>)q6k;
        Q5_KEight = (delegate* unmanaged[SuppressGCTransition]<KRowArgs*, void>)q5k;
        Q4_0Eight = (delegate* unmanaged[SuppressGCTransition]<BlockTileArgs*, void>)q40e;
        Q4_0Four = (delegate* unmanaged[SuppressGCTransition]<BlockTileArgs*, void>)q40f;
        Q4_0PairEight = (delegate* unmanaged[SuppressGCTransition]<BlockTileArgs*, void>)q40pe;
        Q4_0PairFour = (delegate* unmanaged[SuppressGCTransition]<BlockTileArgs*, void>)q40pf;
        Q8_0Pair = (delegate* unmanaged[SuppressGCTransition]<BlockTileArgs*, void>)q80;
        Q8_1Pair = (delegate* unmanaged[SuppressGCTransition]<BlockTileArgs*, void>)q81;
        Q4_KEight = (delegate* unmanaged[SuppressGCTransition]<Q4_KTileArgs*, void>)q4ke;
        Q4_KFour = (delegate* unmanaged[SuppressGCTransition]<Q4_KTileArgs*, void>)q4kf;
    }

    /// <summary>AVX-512 F and VNNI (CPUID.(EAX=7, ECX=0):ECX bit 11), with the zmm state the OS saves (Avx512F).</summary>
    public static bool CpuHasVnni => Avx512F.IsSupported && (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;

    /// <summary>The emitted tiles are in place: the CPU has VNNI, LLAMA_AOT_VNNI is not 0 and the system let us map
    /// the code.</summary>
    public static bool Available => Q4_0Eight != null;

    /// <summary>Runs the emitted Q4_0 tile for 8 or 4 activation rows (callers check Available).</summary>
    public static void Q4_0(BlockTileArgs* args, int actRows)
    {
        if (actRows == 8) Q4_0Eight(args);
        else if (actRows == 4) Q4_0Four(args);
        else throw new ArgumentOutOfRangeException(nameof(actRows));
    }

    /// <summary>Runs the emitted two-tile Q4_0 kernel (32 weight rows) for 8 or 4 activation rows (callers check
    /// Available).</summary>
    public static void Q4_0Pair(BlockTileArgs* args, int actRows)
    {
        if (actRows == 8) Q4_0PairEight(args);
        else if (actRows == 4) Q4_0PairFour(args);
        else throw new ArgumentOutOfRangeException(nameof(actRows));
    }

    /// <summary>Runs the emitted Q8_0 tile for two activation rows (callers check Available).</summary>
    public static void Q8_0(BlockTileArgs* args) => Q8_0Pair(args);

    /// <summary>Runs the Q8_0 tile on Q8_1 activation blocks (36 bytes; Terms Q8_1TermsPerBlock apart) for two activation
    /// rows: the legacy formats' tile (callers check Available).</summary>
    public static void Q8_1(BlockTileArgs* args) => Q8_1Pair(args);

    /// <summary>Runs the emitted Q6_K kernel for eight activation rows (callers check Available).</summary>
    public static void Q6_K(KRowArgs* args) => Q6_KEight(args);

    /// <summary>Runs the emitted Q5_K kernel for eight activation rows (callers check Available).</summary>
    public static void Q5_K(KRowArgs* args) => Q5_KEight(args);

    /// <summary>Runs the emitted Q3_K kernel for eight activation rows (callers check Available; Act is the flipped
    /// copy).</summary>
    public static void Q3_K(KRowArgs* args) => Q3_KEight(args);

    /// <summary>Runs the emitted Q4_K tile for 8 or 4 activation rows (callers check Available).</summary>
    public static void Q4_K(Q4_KTileArgs* args, int actRows)
    {
        if (actRows == 8) Q4_KEight(args);
        else if (actRows == 4) Q4_KFour(args);
        else throw new ArgumentOutOfRangeException(nameof(actRows));
    }

    // zmm0..7: the block's nibble vectors; 8: its weight scales; 9: d_w·d_a; 16 + j: row j's int32 sum; 24 + j: its
    // fp32 chain.
    private const int Scales = 8, Scale = 9, Sum = 16, Chain = 24;

    /// <summary>The Q4_0 tile for acts (4 or 8) activation rows; System V ABI, argument a BlockTileArgs*.</summary>
    internal static byte[] EmitQ4_0(int acts)
    {
        if (acts is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(acts));
        var e = new X86Emitter();
        var rows = Prologue(e);
        for (int j = 0; j < acts; j++) e.Xor(Chain + j, Chain + j, Chain + j);

        int loop = e.Position;
        for (int c = 0; c < 8; c++) e.LoadInt(c, new Mem(Table, 64 * c));
        e.LoadFloat(Scales, new Mem(Table, 8 * 64));
        for (int j = 0; j < acts; j++)
        {
            e.BroadcastInt(Sum + j, new Mem(Terms, 4 * (8 + j)));
            // Nibble vector c (low nibbles of piece c, then high nibbles of piece c − 4) meets activation bytes 4c..4c+3.
            for (int c = 0; c < 8; c++) e.DotBytesBroadcast(Sum + j, c, rows[j] + 4 * c);
            e.IntToFloat(Sum + j, Sum + j);
            e.MultiplyBroadcast(Scale, Scales, new Mem(Terms, 4 * j));
            e.FusedMultiplyAdd(Chain + j, Sum + j, Scale);
        }
        Advance(e, TileBlockBytes, TermsBlockBytes, ActBlockBytes, loop);

        e.Load(Gpr.Rax, new Mem(Args, 40));
        e.Load(Count, new Mem(Args, 48));
        for (int j = 0; j < acts; j++)
        {
            e.StoreFloat(new Mem(Gpr.Rax), Chain + j);
            e.Add(Gpr.Rax, Count);
        }
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>Bytes per block of a two-tile Q4_0 buffer (EmitQ4_0Pair): the first tile's eight nibble vectors, the
    /// second's, then the first's sixteen fp32 scales and the second's.</summary>
    public const int PairBlockBytes = 2 * TileBlockBytes;

    /// <summary>The Q4_0 tile for 32 weight rows (two 16-row tiles, PairBlockBytes per block) and acts (4 or 8)
    /// activation rows; System V ABI, argument a BlockTileArgs* (row j's 32 results at Y + j·YStrideBytes).
    /// EmitQ4_0 takes each activation piece by a broadcast operand, a load per vpdpbusd, and ran at ~49 cycles a block
    /// for the ~40 of its arithmetic: loads (two vector loads a cycle) bound it. Here each piece is broadcast once into
    /// a register and meets both tiles' nibble vectors, and the activation rows go in fours so that the sums fit the
    /// register file: per block, 1.4 loads per vpdpbusd become 0.95.</summary>
    internal static byte[] EmitQ4_0Pair(int acts)
    {
        if (acts is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(acts));
        // zmm0..7: the int32 sums of four activation rows (row jj, tile g at 2jj + g); 8, 9: the tiles' nibble vectors
        // of one piece; 10: the activation piece; 12, 13: the tiles' scales; 14: d_a; 15: d_w·d_a; 16 + 2j + g: row
        // j's chain for tile g.
        const int Sums = 0, Nibbles = 8, Piece = 10, PairScales = 12, Da = 14, Product = 15, Chains = 16;
        var e = new X86Emitter();
        var rows = Prologue(e);
        e.Load(Gpr.Rax, new Mem(Args, 56));   // BlockTileArgs.Prefetch
        for (int i = 0; i < 2 * acts; i++) e.Xor(Chains + i, Chains + i, Chains + i);

        int loop = e.Position;
        e.PrefetchL2(new Mem(Gpr.Rax));
        e.LoadFloat(PairScales, new Mem(Table, 2 * 512));
        e.LoadFloat(PairScales + 1, new Mem(Table, 2 * 512 + 64));
        for (int j0 = 0; j0 < acts; j0 += 4)
        {
            for (int jj = 0; jj < 4; jj++)
            {
                e.BroadcastInt(Sums + 2 * jj, new Mem(Terms, 4 * (8 + j0 + jj)));
                e.BroadcastInt(Sums + 2 * jj + 1, new Mem(Terms, 4 * (8 + j0 + jj)));
            }
            for (int c = 0; c < 8; c++)
            {
                e.LoadInt(Nibbles, new Mem(Table, 64 * c));
                e.LoadInt(Nibbles + 1, new Mem(Table, 512 + 64 * c));
                for (int jj = 0; jj < 4; jj++)
                {
                    e.BroadcastInt(Piece, rows[j0 + jj] + 4 * c);
                    e.DotBytes(Sums + 2 * jj, Nibbles, Piece);
                    e.DotBytes(Sums + 2 * jj + 1, Nibbles + 1, Piece);
                }
            }
            for (int jj = 0; jj < 4; jj++)
            {
                e.BroadcastFloat(Da, new Mem(Terms, 4 * (j0 + jj)));
                for (int g = 0; g < 2; g++)
                {
                    int sum = Sums + 2 * jj + g;
                    e.IntToFloat(sum, sum);
                    e.Multiply(Product, PairScales + g, Da);
                    e.FusedMultiplyAdd(Chains + 2 * (j0 + jj) + g, sum, Product);
                }
            }
        }
        e.NextIteration(loop, Count, [(Table, PairBlockBytes), (Terms, TermsBlockBytes), (Act0, ActBlockBytes), (Act2, ActBlockBytes),
            (Act3, ActBlockBytes), (Gpr.Rax, 64)]);

        e.Load(Gpr.Rax, new Mem(Args, 40));
        e.Load(Count, new Mem(Args, 48));
        for (int j = 0; j < acts; j++)
        {
            e.StoreFloat(new Mem(Gpr.Rax), Chains + 2 * j);
            e.StoreFloat(new Mem(Gpr.Rax, 64), Chains + 2 * j + 1);
            e.Add(Gpr.Rax, Count);
        }
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The Q8_0 tile for two activation rows (activation blocks actBlockBytes apart, terms termsPerBlock ints
    /// per block); System V ABI, argument a BlockTileArgs*.</summary>
    internal static byte[] EmitQ8_0(int actBlockBytes = ActBlockBytes, int termsPerBlock = Q8_0TermsPerBlock)
    {
        // zmm0..7: the block's piece vectors; 8: its weight scales; 9: d_w·d_a; 10..13: int32 lanes in flight;
        // 16 + 8j + c: activation row j's chain c.
        const int Acts = 2, Lanes = 10, Chains = 16;
        var e = new X86Emitter();
        var rows = Prologue(e);
        for (int i = 0; i < 8 * Acts; i++) e.Xor(Chains + i, Chains + i, Chains + i);

        int loop = e.Position;
        for (int c = 0; c < 8; c++) e.LoadInt(c, new Mem(Table, 64 * c));
        e.LoadFloat(Scales, new Mem(Table, 8 * 64));
        for (int j = 0; j < Acts; j++)
        {
            e.MultiplyBroadcast(Scale, Scales, new Mem(Terms, 4 * j));
            for (int c = 0; c < 8; c++)
            {
                int lane = Lanes + (c & 3);
                e.BroadcastInt(lane, new Mem(Terms, 4 * (2 + 8 * j + c)));
                e.DotBytesBroadcast(lane, c, rows[j] + 4 * c);
                e.IntToFloat(lane, lane);
                e.FusedMultiplyAdd(Chains + 8 * j + c, lane, Scale);
            }
        }
        Advance(e, TileBlockBytes, 4 * termsPerBlock, actBlockBytes, loop);

        e.Load(Gpr.Rax, new Mem(Args, 40));
        e.Load(Count, new Mem(Args, 48));
        for (int j = 0; j < Acts; j++)
        {
            // Hsum8: ((c0 + c4) + (c2 + c6)) + ((c1 + c5) + (c3 + c7)), lane by lane.
            int a = Chains + 8 * j;
            for (int c = 0; c < 4; c++) e.AddFloat(a + c, a + c, a + c + 4);
            e.AddFloat(a, a, a + 2);
            e.AddFloat(a + 1, a + 1, a + 3);
            e.AddFloat(a, a, a + 1);
            e.StoreFloat(new Mem(Gpr.Rax), a);
            e.Add(Gpr.Rax, Count);
        }
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>The Q4_K tile for acts (4 or 8) activation rows; System V ABI, argument a Q4_KTileArgs*.</summary>
    internal static byte[] EmitQ4_K(int acts)
    {
        if (acts is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(acts));
        // zmm0..7: nibble vectors (then min pairs 0..3, d 4, dmin 5); 8, 9: the int32 scales of sub-blocks 2p, 2p+1;
        // 10, 11: one activation row's sub-block sums; 12: d·d_a; 13: a chain; 16 + j: row j's sumi.
        const int ScaleLo = 8, ScaleHi = 9, SumLo = 10, SumHi = 11, Product = 12, ChainReg = 13;
        var e = new X86Emitter();
        var rows = Prologue(e);
        e.Load(Gpr.Rax, new Mem(Args, 40));   // the chains
        var table = new Mem(Table);
        var terms = new Mem(Terms);

        int loop = e.Position;
        for (int j = 0; j < acts; j++) e.Xor(Sum + j, Sum + j, Sum + j);
        for (int h = 0; h < 8; h++)
        {
            int p = h >> 1, half = 16 * (h & 1);
            for (int c = 0; c < 8; c++) e.LoadInt(c, table + 64 * (Q4_KQuantsAt + 8 * h + c));
            if (half == 0)
            {
                e.LoadInt(ScaleLo, table + 64 * (Q4_KScalesAt + 2 * p));
                e.LoadInt(ScaleHi, table + 64 * (Q4_KScalesAt + 2 * p + 1));
            }
            for (int j = 0; j < acts; j++)
            {
                var q = rows[j] + (64 * p + half);
                e.Xor(SumLo, SumLo, SumLo);
                for (int c = 0; c < 4; c++) e.DotBytesBroadcast(SumLo, c, q + 4 * c);
                e.Xor(SumHi, SumHi, SumHi);
                for (int c = 0; c < 4; c++) e.DotBytesBroadcast(SumHi, 4 + c, q + (32 + 4 * c));
                e.DotWords(Sum + j, SumLo, ScaleLo);
                e.DotWords(Sum + j, SumHi, ScaleHi);
            }
        }
        for (int i = 0; i < 4; i++) e.LoadInt(i, table + 64 * (Q4_KMinPairsAt + i));
        e.LoadFloat(4, table + 64 * Q4_KDAt);
        e.LoadFloat(5, table + 64 * Q4_KDMinAt);
        for (int j = 0; j < acts; j++)
        {
            var da = terms + 4 * j;
            var acc = new Mem(Gpr.Rax, 128 * j);
            e.Xor(SumLo, SumLo, SumLo);
            for (int i = 0; i < 4; i++) e.DotWordsBroadcast(SumLo, i, terms + 4 * (8 + 4 * j + i));
            e.IntToFloat(Sum + j, Sum + j);
            e.MultiplyBroadcast(Product, 4, da);
            e.LoadFloat(ChainReg, acc);
            e.FusedMultiplyAdd(ChainReg, Sum + j, Product);
            e.StoreFloat(acc, ChainReg);
            e.IntToFloat(SumLo, SumLo);
            e.MultiplyBroadcast(Product, 5, da);
            e.LoadFloat(ChainReg, acc + 64);
            e.FusedMultiplyAdd(ChainReg, SumLo, Product);
            e.StoreFloat(acc + 64, ChainReg);
        }
        Advance(e, 64 * Q4_KTableVectors, 4 * Q4_KTermsPerBlock, ActSuperBlockBytes, loop);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    /// <summary>Vectors per super-block of a K-quant row table: four of quants, four of scale words, then 32 bytes of
    /// int16 words (Q6_K: −32·sc; Q5_K: each min twice; Q3_K: unused), fp32(d_w) at byte 32 and, for Q5_K,
    /// −fp32(dmin_w) at 36; Q3_K adds four of piece-sum starting values (−128·Σ of each lane's four quants).</summary>
    public static int KRowTableVectors(KRowForm form) => form == KRowForm.Q3_K ? KRowStartsAt + 4 : KRowStartsAt;

    /// <summary>Q3_K: the table vector of chunk pair 0's piece-sum starting values (after the nine the forms share).</summary>
    public const int KRowStartsAt = 9;

    /// <summary>Bytes of KRowArgs.Chains: eight acc chains of eight lanes, then (Q5_K) the eight summs chains, one a
    /// lane.</summary>
    public const int KRowChainBytes = 9 * 32;

    /// <summary>The Q6_K product of one weight row and eight activation rows; System V ABI, argument a KRowArgs*.</summary>
    internal static byte[] EmitQ6_K() => EmitKRow(KRowForm.Q6_K);

    /// <summary>The Q5_K product of one weight row and eight activation rows; System V ABI, argument a KRowArgs*.</summary>
    internal static byte[] EmitQ5_K() => EmitKRow(KRowForm.Q5_K);

    /// <summary>The Q3_K product of one weight row and eight activation rows; System V ABI, argument a KRowArgs*.</summary>
    internal static byte[] EmitQ3_K() => EmitKRow(KRowForm.Q3_K);

    /// <summary>The K-quant row kernel (see the file comment): Q6_K's; Q5_K's (no offset in the lanes, a summs chain per
    /// activation row, the eight in the lanes of a vector in memory); or Q3_K's (flipped activations against signed quants from the table's starting
    /// values, no offset).</summary>
    private static byte[] EmitKRow(KRowForm form)
    {
        bool mins = form == KRowForm.Q5_K, flipped = form == KRowForm.Q3_K;
        // zmm0..3: the super-block's quant vectors; 4..7: their scale words; 8..11: piece sums (Q5_K, after them:
        // −dmin_w, d_a·(−dmin_w), the summs chains, scratch); 12: the int16 words (ymm; Q3_K: the activation's piece);
        // 13: d_w broadcast; 14: upper lanes; 15: d_w·d_a; 16 + j: activation row j's lanes (Q5_K, then its mins
        // total); 24 + j: its chain (ymm).
        const int Acts = 8, Words = 4, Pieces = 8, Extra = 12, Dw = 13, Upper = 14, Product = 15, RowLanes = 16, Chains = 24;
        const int NegDmin = 8, DminDa = 9, Summs = 10, Scratch = 11;
        var e = new X86Emitter();
        var rows = Prologue(e);   // Terms carries Chains
        if (mins) e.Load(Gpr.Rax, new Mem(Args, 40));   // KRowArgs.Da
        var table = new Mem(Table);
        for (int j = 0; j < Acts; j++) e.Xor(Chains + j, Chains + j, Chains + j, 256);

        int loop = e.Position;
        for (int k = 0; k < 2 * Words; k++) e.LoadInt(k, table + 64 * k);
        if (!flipped) e.LoadInt(Extra, table + 64 * 8, 256);
        e.BroadcastInt(Dw, table + (64 * 8 + 32));
        for (int j = 0; j < Acts; j++) e.Xor(RowLanes + j, RowLanes + j, RowLanes + j);
        // Activation rows inside: their sums are independent.
        for (int k = 0; k < 4; k++)
        {
            for (int j = 0; j < Acts; j++)
            {
                int p = Pieces + (j & 3);
                if (flipped)
                {
                    e.LoadInt(p, table + 64 * (KRowStartsAt + k));
                    e.LoadInt(Extra, rows[j] + 64 * k);
                    e.DotBytes(p, Extra, k);
                }
                else
                {
                    e.Xor(p, p, p);
                    e.DotBytes(p, k, rows[j] + 64 * k);
                }
                e.DotWords(RowLanes + j, p, Words + k);
            }
        }
        if (mins) e.BroadcastInt(NegDmin, table + (64 * 8 + 36));
        for (int j = 0; j < Acts; j++)
        {
            int l = RowLanes + j;
            // The two chunks' lanes added; Q6_K takes the offset off against the bsums (at qs + 256); the spec's fma.
            e.ExtractUpper256(Upper, l);
            e.AddInt(l, l, Upper, 256);
            if (form == KRowForm.Q6_K) e.DotWords(l, Extra, rows[j] + 256, 256);
            e.IntToFloat(l, l, 256);
            e.MultiplyBroadcast(Product, Dw, rows[j] + (-4), 256);
            e.FusedMultiplyAdd(Chains + j, l, Product, 256);
            if (mins)
            {
                // Σ m_j·(bs[2j] + bs[2j+1]) as eight int32 lanes, in the row's lanes register, now free.
                e.Xor(l, l, l, 256);
                e.DotWords(l, Extra, rows[j] + 256, 256);
            }
        }
        if (mins)
        {
            // The eight rows' totals summed across lanes at once (exact integer sums), row j's in lane j: pairs of rows
            // interleaved by int32 and added, then by int64, then the 128-bit halves. Then each row's scalar chain,
            // lane by lane: summs = fma(Σ, (−dmin_w)·d_a, summs), as the spec's chain of that row.
            for (int p = 0; p < 4; p++)
            {
                int a = RowLanes + 2 * p, b = a + 1;
                e.UnpackLowInt32(Scratch, a, b, 256);
                e.UnpackHighInt32(b, a, b, 256);
                e.AddInt(a, Scratch, b, 256);
            }
            for (int q = 0; q < 2; q++)
            {
                int a = RowLanes + 4 * q, b = a + 2;
                e.UnpackLowInt64(Scratch, a, b, 256);
                e.UnpackHighInt64(b, a, b, 256);
                e.AddInt(a, Scratch, b, 256);
            }
            e.ShuffleHalves256(Scratch, RowLanes, RowLanes + 4, 0b00);
            e.ShuffleHalves256(RowLanes + 4, RowLanes, RowLanes + 4, 0b11);
            e.AddInt(RowLanes, Scratch, RowLanes + 4, 256);
            e.IntToFloat(RowLanes, RowLanes, 256);
            e.Multiply256(DminDa, NegDmin, new Mem(Gpr.Rax));
            var summs = new Mem(Terms, 32 * Acts);
            e.LoadInt(Summs, summs, 256);
            e.FusedMultiplyAdd(Summs, RowLanes, DminDa, 256);
            e.Store256(summs, Summs);
        }
        e.NextIteration(loop, Count, [(Table, 64 * KRowTableVectors(form)), (Act0, ActSuperBlockBytes), (Act2, ActSuperBlockBytes),
            (Act3, ActSuperBlockBytes), (Gpr.Rax, 32)]);
        for (int j = 0; j < Acts; j++) e.Store256(new Mem(Terms, 32 * j), Chains + j);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    // Registers shared by the tiles' prologues: the argument, the weight tile or table, the activation terms, the block
    // count, activation rows 0, 2 and 3 and the row stride (BlockTileArgs, Q4_KTileArgs and KRowArgs agree up to
    // Blocks).
    private const Gpr Args = Gpr.Rdi, Table = Gpr.Rsi, Terms = Gpr.Rdx, Count = Gpr.Rcx, Act0 = Gpr.R8, ActStride = Gpr.R9, Act3 = Gpr.R10, Act2 = Gpr.R11;

    /// <summary>Loads the common arguments and returns activation rows 0..7 as operands built from three moving
    /// pointers (rows 0, 2, 3) and the row stride.</summary>
    private static Mem[] Prologue(X86Emitter e)
    {
        e.LoadFields(Args, Table, Terms, Act0, ActStride, Count);
        e.Lea(Act2, new Mem(Act0, 0, ActStride, 2));
        e.Lea(Act3, new Mem(Act2, 0, ActStride, 1));
        return [new(Act0), new(Act0, 0, ActStride, 1), new(Act2), new(Act3), new(Act0, 0, ActStride, 4),
            new(Act3, 0, ActStride, 2), new(Act2, 0, ActStride, 4), new(Act3, 0, ActStride, 4)];
    }

    /// <summary>The loop's end: every pointer on by one block, and back to loop while blocks remain.</summary>
    private static void Advance(X86Emitter e, int tableBytes, int termsBytes, int actBytes, int loop) =>
        e.NextIteration(loop, Count, [(Table, tableBytes), (Terms, termsBytes), (Act0, actBytes), (Act2, actBytes), (Act3, actBytes)]);
}
