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
//   Set LLAMA_AOT_VNNI=0 to keep the intrinsic kernels.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Jit;

/// <summary>One call of an emitted Q4_0 tile: Blocks blocks of sixteen weight rows (Tile: TileBlockBytes per block)
/// against ActRows activation rows.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Q4_0TileArgs
{
    /// <summary>The unpacked weight tile: per block eight nibble vectors, then sixteen fp32 scales.</summary>
    public byte* Tile;
    /// <summary>Per block, 16 values for up to eight activation rows: fp32 d_a of row j at j, int32 −8·Σq_a at 8 + j.</summary>
    public byte* Terms;
    /// <summary>Activation row 0's first block quants (past its fp16 scale); row j is ActRowBytes·j further.</summary>
    public byte* Act;
    public long ActRowBytes;
    public long Blocks;
    /// <summary>Row j's sixteen results go to Y + j·YStrideBytes.</summary>
    public float* Y;
    public long YStrideBytes;
}

internal static unsafe class VnniTiles
{
    /// <summary>Bytes per block of an unpacked Q4_0 tile (eight 64-byte nibble vectors, sixteen fp32 scales).</summary>
    public const int Q4_0TileBlockBytes = 8 * 64 + 16 * sizeof(float);

    /// <summary>Bytes per block of the activation terms (Q4_0TileArgs.Terms).</summary>
    public const int TermsBlockBytes = 16 * sizeof(int);

    private const int ActBlockBytes = 34;   // BlockQ8_0

    private static readonly delegate* unmanaged[SuppressGCTransition]<Q4_0TileArgs*, void> Q4_0Eight, Q4_0Four;

    static VnniTiles()
    {
        if (!CpuHasVnni || Environment.GetEnvironmentVariable("LLAMA_AOT_VNNI") == "0") return;
        var eight = ExecutableMemory.Load(EmitQ4_0(8));
        var four = ExecutableMemory.Load(EmitQ4_0(4));
        if (eight == null || four == null) return;
        Q4_0Eight = (delegate* unmanaged[SuppressGCTransition]<Q4_0TileArgs*, void>)eight;
        Q4_0Four = (delegate* unmanaged[SuppressGCTransition]<Q4_0TileArgs*, void>)four;
    }

    /// <summary>AVX-512 F and VNNI (CPUID.(EAX=7, ECX=0):ECX bit 11), with the zmm state the OS saves (Avx512F).</summary>
    public static bool CpuHasVnni => Avx512F.IsSupported && (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;

    /// <summary>The emitted tiles are in place: the CPU has VNNI, LLAMA_AOT_VNNI is not 0 and the system let us map
    /// the code.</summary>
    public static bool Available => Q4_0Eight != null;

    /// <summary>Runs the emitted Q4_0 tile for 8 or 4 activation rows (callers check Available).</summary>
    public static void Q4_0(Q4_0TileArgs* args, int actRows)
    {
        if (actRows == 8) Q4_0Eight(args);
        else if (actRows == 4) Q4_0Four(args);
        else throw new ArgumentOutOfRangeException(nameof(actRows));
    }

    // zmm0..7: the block's nibble vectors; 8: its weight scales; 9: d_w·d_a; 16 + j: row j's int32 sum; 24 + j: its
    // fp32 chain.
    private const int Scales = 8, Scale = 9, Sum = 16, Chain = 24;

    /// <summary>The Q4_0 tile for acts (4 or 8) activation rows; System V ABI, argument a Q4_0TileArgs*.</summary>
    internal static byte[] EmitQ4_0(int acts)
    {
        if (acts is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(acts));
        const Gpr args = Gpr.Rdi, tile = Gpr.Rsi, terms = Gpr.Rdx, count = Gpr.Rcx, a0 = Gpr.R8, ars = Gpr.R9, a3 = Gpr.R10, a2 = Gpr.R11;
        var e = new X86Emitter();
        e.Load(tile, new Mem(args, 0));
        e.Load(terms, new Mem(args, 8));
        e.Load(a0, new Mem(args, 16));
        e.Load(ars, new Mem(args, 24));
        e.Load(count, new Mem(args, 32));
        e.Lea(a2, new Mem(a0, 0, ars, 2));
        e.Lea(a3, new Mem(a2, 0, ars, 1));
        // Activation rows 0..7 from three moving pointers (rows 0, 2, 3) and the row stride.
        Mem[] rows = [new(a0), new(a0, 0, ars, 1), new(a2), new(a3), new(a0, 0, ars, 4), new(a3, 0, ars, 2), new(a2, 0, ars, 4), new(a3, 0, ars, 4)];
        for (int j = 0; j < acts; j++) e.Xor(Chain + j, Chain + j, Chain + j);

        int loop = e.Position;
        for (int c = 0; c < 8; c++) e.LoadInt(c, new Mem(tile, 64 * c));
        e.LoadFloat(Scales, new Mem(tile, 8 * 64));
        for (int j = 0; j < acts; j++)
        {
            e.BroadcastInt(Sum + j, new Mem(terms, 4 * (8 + j)));
            // Nibble vector c (low nibbles of piece c, then high nibbles of piece c − 4) meets activation bytes 4c..4c+3.
            for (int c = 0; c < 8; c++) e.DotBytesBroadcast(Sum + j, c, rows[j] + 4 * c);
            e.IntToFloat(Sum + j, Sum + j);
            e.MultiplyBroadcast(Scale, Scales, new Mem(terms, 4 * j));
            e.FusedMultiplyAdd(Chain + j, Sum + j, Scale);
        }
        e.Add(tile, Q4_0TileBlockBytes);
        e.Add(terms, TermsBlockBytes);
        e.Add(a0, ActBlockBytes);
        e.Add(a2, ActBlockBytes);
        e.Add(a3, ActBlockBytes);
        e.Sub(count, 1);
        e.JumpIfNotZero(loop);

        e.Load(Gpr.Rax, new Mem(args, 40));
        e.Load(count, new Mem(args, 48));
        for (int j = 0; j < acts; j++)
        {
            e.StoreFloat(new Mem(Gpr.Rax), Chain + j);
            e.Add(Gpr.Rax, count);
        }
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }
}
