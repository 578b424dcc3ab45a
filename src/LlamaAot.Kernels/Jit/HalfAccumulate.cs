// Flash attention's fp16 accumulator updates (FlashAttention.IAttentionLanes.Accumulate with an fp16 cache), emitted
// as machine code for vcvtps2ph, which .NET 9 does not expose. The spec rounds the accumulator to fp16 after every
// update; the intrinsic path emulates that rounding with eight integer and float operations per vector
// (Fp16Vector.RoundToHalfSmall, with a second pass through RoundToHalf when a lane leaves its range), where the
// hardware conversion pair vcvtps2ph (round to nearest even) and vcvtph2ps does it in two, for every value (fp16
// subnormals, overflow to infinity, NaN) as llama.cpp's F16C conversions do.
//   Per call: 64 lanes (four zmm) of one to four heads' accumulators, over a run of positions. Per position the value
//   row's four vectors are loaded once for all the heads; per head, on a new maximum (its flag byte set) acc = acc·e
//   then acc = acc + v (the spec's fma(v, 1, acc)), otherwise acc = fma(v, e, acc); each result goes to fp16 and back.
//   The heads' sixteen accumulators are independent chains, enough to hide the conversions' latency. Measured on
//   Zen 4 in C (sixteen chains): 3.2 cycles per vector update against 5.1 for the emulated rounding.
//   The fp16 cache's key and value rows are widened to fp32 here too (EmitWiden: one vcvtph2ps from memory per
//   sixteen values, where the intrinsic emulation takes about twelve operations); tinyllama Q4_0 at one thread after
//   an 1872-token prompt: tg 30.8–31.1 → 32.6–33.4 t/s.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels.Ops;

namespace LlamaAot.Kernels.Jit;

/// <summary>One call of an emitted accumulate kernel.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HalfAccumulateArgs
{
    /// <summary>Head 0's 64 accumulator lanes (fp32 holding fp16 values); head h's HeadBytes·h further.</summary>
    public float* Acc;
    public long HeadBytes;
    /// <summary>Position 0's 64 value lanes (fp32); position t's StrideBytes·t further.</summary>
    public float* Values;
    public long StrideBytes;
    /// <summary>Positions (at least one).</summary>
    public long Count;
    /// <summary>Head h's exp of position t at Exps + h·ExpsHeadBytes/4 + t, its new-maximum flag at NewMax +
    /// h·FlagsHeadBytes + t.</summary>
    public float* Exps;
    public byte* NewMax;
}

/// <summary>One call of the emitted widening kernel: Rows rows of Vectors·16 fp16 values (row r at Src + r·SrcBytes)
/// to fp32 (row r at Dst + r·DstBytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HalfWidenArgs
{
    public byte* Src;
    public long SrcBytes;
    public float* Dst;
    public long DstBytes, Rows, Vectors;
}

internal static unsafe class HalfAccumulate
{
    /// <summary>Lanes per head per call.</summary>
    public const int Lanes = 64;

    /// <summary>Most heads per call.</summary>
    public const int MaxHeads = 4;

    // The kernels for 1..MaxHeads heads; all null when the CPU lacks AVX-512F, LLAMA_AOT_VNNI=0 asks for the intrinsic
    // kernels, or the system does not let us map code.
    private static readonly delegate* unmanaged[SuppressGCTransition]<HalfAccumulateArgs*, void>[] Kernels = Load();

    /// <summary>The emitted kernels are in place.</summary>
    public static bool Available => Kernels[0] != null;

    /// <summary>Runs the kernel for <paramref name="heads"/> heads (1..MaxHeads; callers check Available and Count ≥ 1).</summary>
    public static void Run(HalfAccumulateArgs* args, int heads) => Kernels[heads - 1](args);

    // The widening kernel: in place whenever the accumulate kernels are.
    private static readonly delegate* unmanaged[SuppressGCTransition]<HalfWidenArgs*, void> WidenKernel =
        Available ? (delegate* unmanaged[SuppressGCTransition]<HalfWidenArgs*, void>)ExecutableMemory.Load(EmitWiden()) : null;

    /// <summary>Runs the widening kernel (vcvtph2ps, exact for every fp16 value as Fp16.ToFloat), or returns false
    /// when it is not in place. Callers check Rows ≥ 1 and Vectors ≥ 1.</summary>
    public static bool Widen(HalfWidenArgs* args)
    {
        if (WidenKernel == null) return false;
        WidenKernel(args);
        return true;
    }

    /// <summary>The widening kernel; System V ABI, argument a HalfWidenArgs*. Per row, one vcvtph2ps from memory and
    /// one store per sixteen values.</summary>
    internal static byte[] EmitWiden()
    {
        const Gpr Args = Gpr.Rdi, Src = Gpr.Rsi, SrcBytes = Gpr.Rdx, Dst = Gpr.Rcx, DstBytes = Gpr.R8, Rows = Gpr.R9,
            Vectors = Gpr.R10, Count = Gpr.R11, From = Gpr.Rax, To = Gpr.Rdi;
        var e = new X86Emitter();
        e.LoadFields(Args, Src, SrcBytes, Dst, DstBytes, Rows, Vectors);
        int row = e.Position;
        e.Lea(From, new Mem(Src));
        e.Lea(To, new Mem(Dst));
        e.Lea(Count, new Mem(Vectors));
        int vector = e.Position;
        e.HalfToFloat(0, new Mem(From));
        e.StoreFloat(new Mem(To), 0);
        e.NextIteration(vector, Count, [(From, 32), (To, 64)]);
        e.Add(Src, SrcBytes);
        e.Add(Dst, DstBytes);
        e.Sub(Rows, 1);
        e.JumpIfNotZero(row);
        e.ZeroUpper();
        e.Return();
        return e.ToArray();
    }

    private static delegate* unmanaged[SuppressGCTransition]<HalfAccumulateArgs*, void>[] Load()
    {
        var kernels = new delegate* unmanaged[SuppressGCTransition]<HalfAccumulateArgs*, void>[MaxHeads];
        if (!Avx512F.IsSupported || Environment.GetEnvironmentVariable("LLAMA_AOT_VNNI") == "0") return kernels;
        for (int h = 1; h <= MaxHeads; h++)
        {
            void* code = ExecutableMemory.Load(Emit(h, ExpsHeadBytes, FlagsHeadBytes), $"Emit(heads: {h})");
            if (code == null) return new delegate* unmanaged[SuppressGCTransition]<HalfAccumulateArgs*, void>[MaxHeads];
            kernels[h - 1] = (delegate* unmanaged[SuppressGCTransition]<HalfAccumulateArgs*, void>)code;
        }
        return kernels;
    }

    /// <summary>Bytes from one head's exps to the next, and from one head's flags to the next (FlashAttention's
    /// chunk of positions).</summary>
    internal const int ExpsHeadBytes = FlashAttention.Chunk * sizeof(float), FlagsHeadBytes = FlashAttention.Chunk;

    /// <summary>The kernel for <paramref name="heads"/> heads; System V ABI, argument a HalfAccumulateArgs*.</summary>
    internal static byte[] Emit(int heads, int expsHeadBytes, int flagsHeadBytes)
    {
        const Gpr Args = Gpr.Rdi, V = Gpr.Rsi, Stride = Gpr.Rdx, Count = Gpr.Rcx, E = Gpr.R8, Flags = Gpr.R9,
            Acc = Gpr.R10, HeadBytes = Gpr.R11, Head = Gpr.Rax;
        // zmm 4h + i: head h's accumulator vector i; 16 + i: the value row's vector i; 20: the broadcast exp;
        // ymm 21 + i: vector i's fp16 bits.
        const int Values = 16, Scale = 20, Half = 21;
        var e = new X86Emitter();
        e.LoadFields(Args, Acc, HeadBytes, V, Stride, Count, E, Flags);
        ForEachHead(e, heads, (h, acc) =>
        {
            for (int i = 0; i < 4; i++) e.LoadFloat(4 * h + i, acc + 64 * i);
        });

        int loop = e.Position;
        for (int i = 0; i < 4; i++) e.LoadFloat(Values + i, new Mem(V, 64 * i));
        var rescale = new int[heads];
        var resume = new int[heads];
        for (int h = 0; h < heads; h++)
        {
            e.CompareByteToZero(new Mem(Flags, flagsHeadBytes * h));
            rescale[h] = e.JumpIfNotZeroForward();
            e.BroadcastFloat(Scale, new Mem(E, expsHeadBytes * h));
            for (int i = 0; i < 4; i++) e.FusedMultiplyAdd(4 * h + i, Values + i, Scale);
            for (int i = 0; i < 4; i++) Round(e, 4 * h + i, Half + i);
            resume[h] = e.Position;
        }
        e.Add(V, Stride);
        e.NextIteration(loop, Count, [(E, sizeof(float)), (Flags, 1)]);

        ForEachHead(e, heads, (h, acc) =>
        {
            for (int i = 0; i < 4; i++) e.StoreFloat(acc + 64 * i, 4 * h + i);
        });
        e.ZeroUpper();
        e.Return();

        // A new maximum of head h, out of the loop's way: acc = acc·e, rounded; acc = acc + v, rounded; back.
        for (int h = 0; h < heads; h++)
        {
            e.Bind(rescale[h]);
            e.BroadcastFloat(Scale, new Mem(E, expsHeadBytes * h));
            for (int i = 0; i < 4; i++) e.Multiply(4 * h + i, 4 * h + i, Scale);
            for (int i = 0; i < 4; i++) Round(e, 4 * h + i, Half + i);
            for (int i = 0; i < 4; i++) e.AddFloat(4 * h + i, 4 * h + i, Values + i);
            for (int i = 0; i < 4; i++) Round(e, 4 * h + i, Half + i);
            e.Jump(resume[h]);
        }
        return e.ToArray();

        // Head h's accumulator address: Acc + h·HeadBytes, in Head (h = 0: Acc itself).
        static void ForEachHead(X86Emitter e, int heads, Action<int, Mem> body)
        {
            for (int h = 0; h < heads; h++)
            {
                if (h == 0)
                {
                    body(0, new Mem(Acc));
                    continue;
                }
                e.Lea(Head, h == 3 ? new Mem(HeadBytes, 0, HeadBytes, 2) : new Mem(Acc, 0, HeadBytes, h));
                if (h == 3) e.Add(Head, Acc);
                body(h, new Mem(Head));
            }
        }

        // x to fp16 (round to nearest even) and back.
        static void Round(X86Emitter e, int x, int half)
        {
            e.FloatToHalf(half, x, 0);
            e.HalfToFloat(x, half);
        }
    }
}
