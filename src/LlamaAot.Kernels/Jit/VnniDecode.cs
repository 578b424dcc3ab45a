// The Q4_0 decode row kernel (DotQ4_0Q8_0.Decode.cs's IQ4_0DecodeRows: the blockwise terms of a row pair, eight blocks
// of each row a step) emitted as machine code, for the instructions .NET 9 cannot reach: AVX-512 VNNI's vpdpbusd,
// GFNI's vgf2p8affineqb and F16C's vcvtph2ps. Per row and group of eight blocks (144 bytes):
//   - two 64-byte loads and one vpermi2b put blocks 0..3's sixteen nibble bytes in the four 128-bit quarters of a
//     zmm, a second vpermi2b (its second table read from x + 80) those of blocks 4..7, a third the eight fp16 scales;
//   - low nibbles by vpandd, high nibbles by one vgf2p8affineqb (a per-byte shift right by four), and each nibble
//     vector meets the prepared activation's matching bytes in one vpdpbusd: a block's four int32 lanes then sum its
//     32 products n·q_a, exactly (the intrinsic kernel needs vpmaddubsw, vpaddw and vpmaddwd for the same sums);
//   - the scales go to fp32 by vcvtph2ps (exact, as Fp16.ToFloat) and are multiplied by the activation's d_a.
// The two rows' four sum vectors meet in one transpose-and-add tree, so one zmm holds both rows' eight block sums
// (vpermd puts them in block order), "− 8·Σq_a" is subtracted, and they go to fp32. The integers and the float
// operations are the intrinsic kernel's, so the terms are bit-identical to it and to ReferenceBlockwise.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Dot;

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

internal static unsafe class VnniDecode
{
    private static readonly delegate* unmanaged[SuppressGCTransition]<DecodeTermsArgs*, void> Q4_0Kernel;
    private static readonly byte* Constants;

    static VnniDecode()
    {
        if (!CpuSupports || Environment.GetEnvironmentVariable("LLAMA_AOT_VNNI") == "0") return;
        var constants = (byte*)NativeMemory.AlignedAlloc(ConstantVectors * 64, 64);   // lives as long as the process
        WriteConstants(constants);
        void* code = ExecutableMemory.Load(EmitQ4_0());
        if (code == null) return;
        Constants = constants;
        Q4_0Kernel = (delegate* unmanaged[SuppressGCTransition]<DecodeTermsArgs*, void>)code;
    }

    /// <summary>AVX-512 F, BW, VL, DQ with the zmm state the OS saves (Avx512F, Avx512BW, Avx512DQ), VBMI (vpermi2b),
    /// VNNI, GFNI and F16C (CPUID.(EAX=7, ECX=0):ECX bits 1, 11 and 8; CPUID.1:ECX bit 29).</summary>
    public static bool CpuSupports
    {
        get
        {
            if (!Avx512F.IsSupported || !Avx512BW.IsSupported || !Avx512DQ.IsSupported || !Avx512F.VL.IsSupported) return false;
            int ecx7 = X86Base.CpuId(7, 0).Ecx, ecx1 = X86Base.CpuId(1, 0).Ecx;
            return (ecx7 & (1 << 1)) != 0 && (ecx7 & (1 << 11)) != 0 && (ecx7 & (1 << 8)) != 0 && (ecx1 & (1 << 29)) != 0;
        }
    }

    /// <summary>The emitted kernel is in place: the CPU has what it needs, LLAMA_AOT_VNNI is not 0 and the system let
    /// us map the code.</summary>
    public static bool Available => Q4_0Kernel != null;

    /// <summary>Runs the emitted kernel (callers check Available; Constants is filled in here).</summary>
    public static void Q4_0Terms(DecodeTermsArgs* args)
    {
        args->Constants = Constants;
        Q4_0Kernel(args);
    }

    // The constant vectors: vpermi2b indices of blocks 0..3's and 4..7's nibble bytes and of the eight scales, the
    // vpermd order of the reduced sums, the low-nibble mask and the shift-right-by-four bit matrix.
    private const int IndexLow = 0, IndexHigh = 1, IndexScales = 2, Order = 3, Mask = 4, ShiftMatrix = 5, ConstantVectors = 6;

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
    }

    // General registers: the weight rows, the group count, the activation, its scales and eights, the outputs and the
    // second row's output offset.
    private const Gpr Args = Gpr.Rdi, X0 = Gpr.Rsi, X1 = Gpr.Rdx, Count = Gpr.Rcx, Act = Gpr.R8, Da = Gpr.R9,
        Eights = Gpr.R10, S = Gpr.R11, D = Gpr.Rax, Next = Gpr.Rdi;

    /// <summary>The kernel; System V ABI, argument a DecodeTermsArgs*.</summary>
    internal static byte[] EmitQ4_0()
    {
        // zmm 8h + 0..7: row h's two loads, nibble vectors, a nibble temporary, two sums and its scales; 16..19: the
        // activation; 20..25: the constants; 26: the eights; 27..31: the tree.
        const int Y = 16, C = 20, E = 26, T = 27;
        var e = new X86Emitter();
        e.Load(Gpr.Rax, new Mem(Args, 72));
        for (int i = 0; i < ConstantVectors; i++) e.LoadInt(C + i, new Mem(Gpr.Rax, 64 * i));
        e.Load(X0, new Mem(Args, 0));
        e.Load(X1, new Mem(Args, 8));
        e.Load(Count, new Mem(Args, 16));
        e.Load(Act, new Mem(Args, 24));
        e.Load(Da, new Mem(Args, 32));
        e.Load(Eights, new Mem(Args, 40));
        e.Load(S, new Mem(Args, 48));
        e.Load(D, new Mem(Args, 56));
        e.Load(Next, new Mem(Args, 64));

        int loop = e.Position;
        for (int i = 0; i < 4; i++) e.LoadInt(Y + i, new Mem(Act, 64 * i));
        e.BroadcastInt256(E, new Mem(Eights));
        for (int h = 0; h < 2; h++)
        {
            Gpr x = h == 0 ? X0 : X1;
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
            e.Store256(h == 0 ? new Mem(D) : new Mem(D, 0, Next), sc);
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
        e.PermuteInt32(T + 4, C + Order, T + 1);
        e.SubtractInt(T + 4, T + 4, E);
        e.IntToFloat(T + 4, T + 4);
        e.Store256(new Mem(S), T + 4);
        e.StoreUpper256(new Mem(S, 0, Next), T + 4);

        e.Add(X0, 8 * 18);
        e.Add(X1, 8 * 18);
        e.Add(Act, 256);
        e.Add(Da, 32);
        e.Add(Eights, 32);
        e.Add(S, 32);
        e.Add(D, 32);
        e.Sub(Count, 1);
        e.JumpIfNotZero(loop);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }
}
