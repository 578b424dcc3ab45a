// A minimal x86-64 encoder for the kernels this runtime writes at start-up (Jit/VnniTiles.cs, Jit/VnniDecode.cs,
// Jit/HalfAccumulate.cs): .NET 9 exposes no intrinsic for AVX-512 VNNI's vpdpbusd, GFNI or F16C, so the loops that
// need them are emitted as machine code. It knows only the forms those kernels use: EVEX instructions of 512, 256 or 128 bits (register or
// [base + index·scale + disp32] operands, 32-bit embedded broadcast, an 8-bit immediate where the instruction has
// one, no masking) and a handful of 64-bit integer instructions. Memory operands always carry a 32-bit displacement,
// so EVEX's scaled 8-bit displacements never arise. Encodings follow the Intel SDM, volume 2, §2.7 (EVEX) and
// §2.1–2.2 (ModR/M, SIB, REX); X86EmitterTests holds each form's bytes as objdump decodes them.
namespace LlamaAot.Kernels.Jit;

internal enum Gpr { Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8, R9, R10, R11, R12, R13, R14, R15 }

/// <summary>[base + index·scale + disp] (index optional; rsp cannot be an index).</summary>
internal readonly record struct Mem(Gpr Base, int Disp = 0, Gpr? Index = null, int Scale = 1)
{
    public static Mem operator +(Mem m, int disp) => m with { Disp = m.Disp + disp };
}

internal sealed class X86Emitter
{
    private readonly List<byte> _code = [];

    public int Position => _code.Count;

    public byte[] ToArray() => [.. _code];

    // ---- vector instructions (registers 0..31; 512 bits unless a bits argument says 256 or 128) ----------------

    // Opcode maps (EVEX.mm) and implied prefixes (EVEX.pp).
    private const int Map0F = 1, Map0F38 = 2, Map0F3A = 3;
    private const int NoPrefix = 0, P66 = 1, PF3 = 2;
    // EVEX.W and the vector length (EVEX.L'L: 128, 256 or 512 bits).
    private const int W0 = 0, W1 = 1, L256 = 1, L512 = 2;

    private static int Length(int bits) => bits switch { 128 => 0, 256 => L256, 512 => L512, _ => throw new ArgumentOutOfRangeException(nameof(bits)) };

    /// <summary>vmovdqu32 zmm (ymm, xmm), m.</summary>
    public void LoadInt(int zmm, Mem m, int bits = 512) => Evex(Map0F, PF3, zmm, 0, m, false, 0x6F, W0, Length(bits));

    /// <summary>vmovups zmm, m512.</summary>
    public void LoadFloat(int zmm, Mem m) => Evex(Map0F, NoPrefix, zmm, 0, m, false, 0x10);

    /// <summary>vmovups m512, zmm.</summary>
    public void StoreFloat(Mem m, int zmm) => Evex(Map0F, NoPrefix, zmm, 0, m, false, 0x11);

    /// <summary>vpbroadcastd zmm, m32.</summary>
    public void BroadcastInt(int zmm, Mem m) => Evex(Map0F38, P66, zmm, 0, m, false, 0x58);

    /// <summary>vpdpbusd acc, u, m32bcst: each int32 lane of acc += Σ of its four unsigned bytes of u times the four
    /// signed bytes at m.</summary>
    public void DotBytesBroadcast(int acc, int u, Mem m) => Evex(Map0F38, P66, acc, u, m, true, 0x50);

    /// <summary>vpdpwssd acc, a, b: each int32 lane of acc += Σ of its two signed int16 of a times those of b.</summary>
    public void DotWords(int acc, int a, int b) => Evex(Map0F38, P66, acc, a, b, 0x52);

    /// <summary>vpdpwssd acc, a, m32bcst.</summary>
    public void DotWordsBroadcast(int acc, int a, Mem m, int bits = 512) => Evex(Map0F38, P66, acc, a, m, true, 0x52, W0, Length(bits));

    /// <summary>vpdpwssd acc, a, m.</summary>
    public void DotWords(int acc, int a, Mem m, int bits = 512) => Evex(Map0F38, P66, acc, a, m, false, 0x52, W0, Length(bits));

    /// <summary>vcvtdq2ps dst, src.</summary>
    public void IntToFloat(int dst, int src, int bits = 512) => Evex(Map0F, NoPrefix, dst, 0, src, 0x5B, W0, Length(bits));

    /// <summary>vmulps dst, a, m32bcst.</summary>
    public void MultiplyBroadcast(int dst, int a, Mem m, int bits = 512) => Evex(Map0F, NoPrefix, dst, a, m, true, 0x59, W0, Length(bits));

    /// <summary>vaddps dst, a, b.</summary>
    public void AddFloat(int dst, int a, int b) => Evex(Map0F, NoPrefix, dst, a, b, 0x58);

    /// <summary>vfmadd231ps acc, a, b: acc = a·b + acc, one rounding.</summary>
    public void FusedMultiplyAdd(int acc, int a, int b, int bits = 512) => Evex(Map0F38, P66, acc, a, b, 0xB8, W0, Length(bits));

    /// <summary>vfmadd231ps acc, a, m: acc = a·m + acc, one rounding.</summary>
    public void FusedMultiplyAdd(int acc, int a, Mem m, int bits = 512) => Evex(Map0F38, P66, acc, a, m, false, 0xB8, W0, Length(bits));

    /// <summary>vpxord dst, a, b.</summary>
    public void Xor(int dst, int a, int b, int bits = 512) => Evex(Map0F, P66, dst, a, b, 0xEF, W0, Length(bits));

    /// <summary>vmovdqa32 dst, src.</summary>
    public void Move(int dst, int src) => Evex(Map0F, P66, dst, 0, src, 0x6F);

    /// <summary>vpermi2b index, table1, table2: byte i of index becomes byte (index[i] mod 128) of table1:table2.</summary>
    public void PermuteBytes(int index, int table1, int table2) => Evex(Map0F38, P66, index, table1, table2, 0x75);

    /// <summary>vpermi2b index, table1, m512.</summary>
    public void PermuteBytes(int index, int table1, Mem table2) => Evex(Map0F38, P66, index, table1, table2, false, 0x75);

    /// <summary>vpermd dst, index, src: int32 lane i of dst is lane index[i] of src.</summary>
    public void PermuteInt32(int dst, int index, int src) => Evex(Map0F38, P66, dst, index, src, 0x36);

    /// <summary>vpandd dst, a, b.</summary>
    public void And(int dst, int a, int b, int bits = 512) => Evex(Map0F, P66, dst, a, b, 0xDB, W0, Length(bits));

    /// <summary>vpord dst, a, b.</summary>
    public void Or(int dst, int a, int b, int bits = 512) => Evex(Map0F, P66, dst, a, b, 0xEB, W0, Length(bits));

    /// <summary>vpshufb dst, a, b: within each 128-bit lane, byte i is a's byte b[i] &amp; 15, or 0 where b[i] has its
    /// top bit set.</summary>
    public void ShuffleBytes(int dst, int a, int b, int bits = 512) => Evex(Map0F38, P66, dst, a, b, 0x00, W0, Length(bits));

    /// <summary>vpsrlw dst, src, imm8.</summary>
    public void ShiftRightWords(int dst, int src, byte imm, int bits = 512) => Evex(Map0F, P66, 2, dst, src, 0x71, W0, Length(bits), imm);

    /// <summary>vpmovzxbd zmm, xmm: sixteen bytes zero-extended to int32.</summary>
    public void ZeroExtendBytesToInt32(int zmm, int xmm) => Evex(Map0F38, P66, zmm, 0, xmm, 0x31);

    /// <summary>vpshufd ymm (zmm), src, imm8: int32 lane i of each 128-bit lane from lane (imm >> 2i) &amp; 3 of that
    /// lane.</summary>
    public void ShuffleInt32(int dst, int src, byte imm, int bits = 256) => Evex(Map0F, P66, dst, 0, src, 0x70, W0, Length(bits), imm);

    /// <summary>vshufi32x4 ymm, a, b, imm8: the low 128 bits from a's half imm bit 0, the high from b's half imm bit 1.</summary>
    public void ShuffleHalves256(int dst, int a, int b, byte imm) => Evex(Map0F3A, P66, dst, a, b, 0x43, W0, L256, imm);

    /// <summary>vshufi32x4 zmm, a, b, imm8: 128-bit quarters 0 and 1 from a's quarters (imm &gt;&gt; 0) &amp; 3 and
    /// (imm &gt;&gt; 2) &amp; 3, quarters 2 and 3 from b's (imm &gt;&gt; 4) &amp; 3 and (imm &gt;&gt; 6) &amp; 3.</summary>
    public void ShuffleQuarters(int dst, int a, int b, byte imm) => Evex(Map0F3A, P66, dst, a, b, 0x43, W0, L512, imm);

    /// <summary>vgf2p8affineqb dst, x, matrix, imm8: each byte of x times the 8×8 bit matrix (the qword of matrix
    /// in its lane) over GF(2), xor imm8 (GFNI).</summary>
    public void GaloisAffine(int dst, int x, int matrix, byte imm, int bits = 512) => Evex(Map0F3A, P66, dst, x, matrix, 0xCE, W1, Length(bits), imm);

    /// <summary>vpdpbusd acc, u, s: each int32 lane of acc += Σ of its four unsigned bytes of u times those of s.</summary>
    public void DotBytes(int acc, int u, int s) => Evex(Map0F38, P66, acc, u, s, 0x50);

    /// <summary>vpdpbusd acc, u, m.</summary>
    public void DotBytes(int acc, int u, Mem s, int bits = 512) => Evex(Map0F38, P66, acc, u, s, false, 0x50, W0, Length(bits));

    /// <summary>vpunpckldq dst, a, b.</summary>
    public void UnpackLowInt32(int dst, int a, int b, int bits = 512) => Evex(Map0F, P66, dst, a, b, 0x62, W0, Length(bits));

    /// <summary>vpunpckhdq dst, a, b.</summary>
    public void UnpackHighInt32(int dst, int a, int b, int bits = 512) => Evex(Map0F, P66, dst, a, b, 0x6A, W0, Length(bits));

    /// <summary>vpunpcklqdq dst, a, b.</summary>
    public void UnpackLowInt64(int dst, int a, int b, int bits = 512) => Evex(Map0F, P66, dst, a, b, 0x6C, W1, Length(bits));

    /// <summary>vpunpckhqdq dst, a, b.</summary>
    public void UnpackHighInt64(int dst, int a, int b, int bits = 512) => Evex(Map0F, P66, dst, a, b, 0x6D, W1, Length(bits));

    /// <summary>vpaddd dst, a, b.</summary>
    public void AddInt(int dst, int a, int b, int bits = 512) => Evex(Map0F, P66, dst, a, b, 0xFE, W0, Length(bits));

    /// <summary>vpsubd dst, a, b.</summary>
    public void SubtractInt(int dst, int a, int b) => Evex(Map0F, P66, dst, a, b, 0xFA);

    /// <summary>vpsubw dst, a, b.</summary>
    public void SubtractWords(int dst, int a, int b, int bits = 512) => Evex(Map0F, P66, dst, a, b, 0xF9, W0, Length(bits));

    /// <summary>vbroadcasti32x8 zmm, m256: both 256-bit halves from memory (AVX-512DQ).</summary>
    public void BroadcastInt256(int zmm, Mem m) => Evex(Map0F38, P66, zmm, 0, m, false, 0x5B);

    /// <summary>vcvtph2ps ymm, xmm: eight fp16 to fp32 (exact).</summary>
    public void HalfToFloat256(int dst, int src) => Evex(Map0F38, P66, dst, 0, src, 0x13, W0, L256);

    /// <summary>vmulps zmm, zmm, m512.</summary>
    public void Multiply(int dst, int a, Mem m) => Evex(Map0F, NoPrefix, dst, a, m, false, 0x59);

    /// <summary>vmulps ymm, ymm, m256.</summary>
    public void Multiply256(int dst, int a, Mem m) => Evex(Map0F, NoPrefix, dst, a, m, false, 0x59, W0, L256);

    /// <summary>vmovups m256, ymm.</summary>
    public void Store256(Mem m, int ymm) => Evex(Map0F, NoPrefix, ymm, 0, m, false, 0x11, W0, L256);

    /// <summary>vmovups m128, xmm.</summary>
    public void Store128(Mem m, int xmm) => Evex(Map0F, NoPrefix, xmm, 0, m, false, 0x11, W0, 0);

    /// <summary>vextractf32x8 m256, zmm, 1: the upper 256 bits (AVX-512DQ).</summary>
    public void StoreUpper256(Mem m, int zmm) => Evex(Map0F3A, P66, zmm, 0, m, false, 0x1B, W0, L512, 1);

    /// <summary>vmovss m32, xmm: lane 0.</summary>
    public void StoreScalar(Mem m, int xmm) => Evex(Map0F, PF3, xmm, 0, m, false, 0x11, W0, 0);

    /// <summary>vextracti64x4 ymm, zmm, 1: the upper 256 bits into a register.</summary>
    public void ExtractUpper256(int ymm, int zmm) => Evex(Map0F3A, P66, zmm, 0, ymm, 0x3B, W1, L512, 1);

    /// <summary>vbroadcastss zmm, m32.</summary>
    public void BroadcastFloat(int zmm, Mem m) => Evex(Map0F38, P66, zmm, 0, m, false, 0x18);

    /// <summary>vmulps dst, a, b.</summary>
    public void Multiply(int dst, int a, int b) => Evex(Map0F, NoPrefix, dst, a, b, 0x59);

    /// <summary>vcvtps2ph ymm, zmm, imm8: sixteen fp32 to fp16, rounded as imm8 says (0: to nearest, ties to even).</summary>
    public void FloatToHalf(int ymm, int zmm, byte imm) => Evex(Map0F3A, P66, zmm, 0, ymm, 0x1D, W0, L512, imm);

    /// <summary>vcvtph2ps zmm, ymm: sixteen fp16 to fp32 (exact).</summary>
    public void HalfToFloat(int zmm, int ymm) => Evex(Map0F38, P66, zmm, 0, ymm, 0x13);

    /// <summary>vcvtph2ps zmm, m256.</summary>
    public void HalfToFloat(int zmm, Mem m) => Evex(Map0F38, P66, zmm, 0, m, false, 0x13);

    /// <summary>vpsllvw zmm, zmm a, zmm counts: each word of a shifted left by its count.</summary>
    public void ShiftLeftWordsVariable(int dst, int a, int counts) => Evex(Map0F38, P66, dst, a, counts, 0x12, W1);

    /// <summary>vpsrlvw zmm, zmm a, zmm counts: each word of a shifted right (logical) by its count.</summary>
    public void ShiftRightWordsVariable(int dst, int a, int counts) => Evex(Map0F38, P66, dst, a, counts, 0x10, W1);

    /// <summary>vpternlogd zmm a, zmm b, zmm c, imm: bit i of the result, written to a, is bit a_i·4 + b_i·2 + c_i of
    /// imm.</summary>
    public void TernaryLogic(int a, int b, int c, byte imm) => Evex(Map0F3A, P66, a, b, c, 0x25, W0, L512, imm);

    /// <summary>vpsllw ymm, ymm, imm8.</summary>
    public void ShiftLeftWords256(int dst, int src, byte imm) => Evex(Map0F, P66, 6, dst, src, 0x71, W0, L256, imm);

    /// <summary>vpmovsxbw ymm, m128: sixteen bytes sign-extended to words.</summary>
    public void SignExtendBytesToWords256(int ymm, Mem m) => Evex(Map0F38, P66, ymm, 0, m, false, 0x20, W0, L256);

    /// <summary>vpmaddubsw zmm, zmm u, m512: unsigned bytes of u times signed bytes at m, adjacent pairs summed to
    /// int16 (saturating).</summary>
    public void MultiplyAddBytes(int dst, int u, Mem m) => Evex(Map0F38, P66, dst, u, m, false, 0x04);

    /// <summary>vpermw zmm, zmm index, zmm table: word i of the result is table's word index[i] (mod 32).</summary>
    public void PermuteWords(int dst, int index, int table) => Evex(Map0F38, P66, dst, index, table, 0x8D, W1);

    /// <summary>vpmovzxbw ymm, xmm: sixteen bytes zero-extended to words (the zmm's upper 256 bits cleared).</summary>
    public void ZeroExtendBytesToWords256(int ymm, int xmm) => Evex(Map0F38, P66, ymm, 0, xmm, 0x30, W0, L256);

    /// <summary>vpmovzxbw zmm, ymm: 32 bytes zero-extended to words.</summary>
    public void ZeroExtendBytesToWords(int zmm, int ymm) => Evex(Map0F38, P66, zmm, 0, ymm, 0x30, W0, L512);

    /// <summary>vinserti32x4 zmm, a, m128, imm8: a with 128-bit quarter imm8 replaced by 16 bytes from memory.</summary>
    public void InsertQuarter(int dst, int a, Mem m, byte quarter) => Evex(Map0F3A, P66, dst, a, m, false, 0x38, W0, L512, quarter);

    /// <summary>vinserti64x4 zmm, zmm a, m256, 1: a with its upper 256 bits loaded from m.</summary>
    public void InsertUpper256(int dst, int a, Mem m) => Evex(Map0F3A, P66, dst, a, m, false, 0x3A, W1, L512, 1);

    /// <summary>vinserti64x4 zmm, a, ymm b, 1: a with its upper 256 bits replaced by b.</summary>
    public void InsertUpper256(int dst, int a, int b) => Evex(Map0F3A, P66, dst, a, b, 0x3A, W1, L512, 1);

    /// <summary>vpermi2ps zmm index, table1, table2: lane i from lane index[i] &amp; 31 of (table1, table2) (the
    /// index register is overwritten).</summary>
    public void PermuteFloats2(int index, int table1, int table2) => Evex(Map0F38, P66, index, table1, table2, 0x77);

    /// <summary>vinserti32x4 ymm, ymm a, xmm b, 1: a with its upper 128 bits from b.</summary>
    public void InsertUpper128(int dst, int a, int b) => Evex(Map0F3A, P66, dst, a, b, 0x38, W0, L256, 1);

    /// <summary>vpbroadcastw xmm, m16: the word at m in all eight lanes.</summary>
    public void BroadcastWord128(int xmm, Mem m) => Evex(Map0F38, P66, xmm, 0, m, false, 0x79, W0, 0);

    /// <summary>vzeroupper.</summary>
    public void ZeroUpper() => Emit(0xC5, 0xF8, 0x77);

    // imm: an 8-bit immediate after the operands, or −1 for none.
    private void Evex(int map, int pp, int reg, int vvvv, int rm, byte opcode, int w = W0, int length = L512, int imm = -1)
    {
        EvexPrefix(map, pp, reg, vvvv, rm >> 4 & 1, rm >> 3 & 1, false, w, length);
        Emit(opcode, (byte)(0xC0 | (reg & 7) << 3 | (rm & 7)));
        if (imm >= 0) Emit((byte)imm);
    }

    private void Evex(int map, int pp, int reg, int vvvv, Mem m, bool broadcast, byte opcode, int w = W0, int length = L512, int imm = -1)
    {
        EvexPrefix(map, pp, reg, vvvv, m.Index is Gpr i ? (int)i >> 3 & 1 : 0, (int)m.Base >> 3 & 1, broadcast, w, length);
        Emit(opcode);
        ModRm(reg & 7, m);
        if (imm >= 0) Emit((byte)imm);
    }

    // 62 | R X B R' 0 0 m m | W v v v v 1 p p | z L' L b V' a a a, with R, X, B, R', vvvv, V' inverted; no masking.
    private void EvexPrefix(int map, int pp, int reg, int vvvv, int x, int b, bool broadcast, int w, int length)
    {
        int p0 = (~reg >> 3 & 1) << 7 | (~x & 1) << 6 | (~b & 1) << 5 | (~reg >> 4 & 1) << 4 | map;
        int p1 = w << 7 | (~vvvv & 15) << 3 | 1 << 2 | pp;
        int p2 = length << 5 | (broadcast ? 1 : 0) << 4 | (~vvvv >> 4 & 1) << 3;
        Emit(0x62, (byte)p0, (byte)p1, (byte)p2);
    }

    // ---- 64-bit integer instructions -----------------------------------------------------------------------------

    /// <summary>mov r64, [m].</summary>
    public void Load(Gpr dst, Mem m)
    {
        Rex(1, (int)dst, m.Index is Gpr i ? (int)i : 0, (int)m.Base);
        Emit(0x8B);
        ModRm((int)dst & 7, m);
    }

    /// <summary>mov fields[i], [args + 8·i] for each i: the leading 8-byte fields of a kernel's argument struct.</summary>
    public void LoadFields(Gpr args, params ReadOnlySpan<Gpr> fields) => LoadFields(args, 0, fields);

    /// <summary>mov fields[i], [args + 8·(first + i)] for each i: a run of 8-byte fields from field number first.</summary>
    public void LoadFields(Gpr args, int first, params ReadOnlySpan<Gpr> fields)
    {
        for (int i = 0; i < fields.Length; i++) Load(fields[i], new Mem(args, 8 * (first + i)));
    }

    /// <summary>mov r64, imm32 (sign-extended).</summary>
    public void Set(Gpr dst, int imm)
    {
        Rex(1, 0, 0, (int)dst);
        Emit(0xC7, (byte)(0xC0 | ((int)dst & 7)));
        Emit32(imm);
    }

    /// <summary>lea r64, [m].</summary>
    public void Lea(Gpr dst, Mem m)
    {
        Rex(1, (int)dst, m.Index is Gpr i ? (int)i : 0, (int)m.Base);
        Emit(0x8D);
        ModRm((int)dst & 7, m);
    }

    /// <summary>push r64 (a callee-saved register a kernel borrows).</summary>
    public void Push(Gpr r)
    {
        if (r >= Gpr.R8) Emit(0x41);
        Emit((byte)(0x50 + ((int)r & 7)));
    }

    /// <summary>pop r64.</summary>
    public void Pop(Gpr r)
    {
        if (r >= Gpr.R8) Emit(0x41);
        Emit((byte)(0x58 + ((int)r & 7)));
    }

    /// <summary>add r64, imm32.</summary>
    public void Add(Gpr dst, int imm) => Immediate(0, dst, imm);

    /// <summary>sub r64, imm32 (sets ZF for Loop).</summary>
    public void Sub(Gpr dst, int imm) => Immediate(5, dst, imm);

    /// <summary>add r64, r64.</summary>
    public void Add(Gpr dst, Gpr src)
    {
        Rex(1, (int)src, 0, (int)dst);
        Emit(0x01, (byte)(0xC0 | ((int)src & 7) << 3 | ((int)dst & 7)));
    }

    /// <summary>prefetcht1 [m]: the line into L2 (and L3).</summary>
    public void PrefetchL2(Mem m)
    {
        int index = m.Index is Gpr i ? (int)i : 0;
        if (((index | (int)m.Base) & 8) != 0) Rex(0, 0, index, (int)m.Base);
        Emit(0x0F, 0x18);
        ModRm(2, m);
    }

    /// <summary>A loop's end: each register on by its step, count down by one, and back to target (a Position taken
    /// earlier) while count is not zero.</summary>
    public void NextIteration(int target, Gpr count, params ReadOnlySpan<(Gpr Register, int Step)> steps)
    {
        foreach (var (register, step) in steps) Add(register, step);
        Sub(count, 1);
        JumpIfNotZero(target);
    }

    /// <summary>jnz to a Position taken earlier.</summary>
    public void JumpIfNotZero(int target)
    {
        Emit(0x0F, 0x85);
        Emit32(target - (Position + 4));
    }

    /// <summary>jnz to a place not yet emitted: returns the jump's field for <see cref="Bind"/>.</summary>
    public int JumpIfNotZeroForward()
    {
        Emit(0x0F, 0x85);
        Emit32(0);
        return Position - 4;
    }

    /// <summary>jmp to a Position taken earlier.</summary>
    public void Jump(int target)
    {
        Emit(0xE9);
        Emit32(target - (Position + 4));
    }

    /// <summary>jz to a place not yet emitted: returns the jump's field for <see cref="Bind"/>.</summary>
    public int JumpIfZeroForward()
    {
        Emit(0x0F, 0x84);
        Emit32(0);
        return Position - 4;
    }

    /// <summary>Points a forward jump's field (from <see cref="JumpIfNotZeroForward"/> or
    /// <see cref="JumpIfZeroForward"/>) at the current Position.</summary>
    public void Bind(int field)
    {
        int rel = Position - (field + 4);
        for (int i = 0; i < 4; i++) _code[field + i] = (byte)(rel >> 8 * i);
    }

    /// <summary>cmp byte [m], 0 (sets ZF when the byte is zero).</summary>
    public void CompareByteToZero(Mem m)
    {
        int index = m.Index is Gpr i ? (int)i : 0;
        if (((index | (int)m.Base) & 8) != 0) Rex(0, 0, index, (int)m.Base);
        Emit(0x80);
        ModRm(7, m);
        Emit(0);
    }

    public void Return() => Emit(0xC3);

    private void Immediate(int ext, Gpr dst, int imm)
    {
        Rex(1, 0, 0, (int)dst);
        Emit(0x81, (byte)(0xC0 | ext << 3 | ((int)dst & 7)));
        Emit32(imm);
    }

    private void Rex(int w, int reg, int index, int rm) =>
        Emit((byte)(0x40 | w << 3 | (reg >> 3 & 1) << 2 | (index >> 3 & 1) << 1 | (rm >> 3 & 1)));

    // ModR/M (mod = 10: disp32), with a SIB byte for an index or an rsp/r12 base.
    private void ModRm(int reg, Mem m)
    {
        int b = (int)m.Base & 7;
        if (m.Index is Gpr index)
        {
            if (index == Gpr.Rsp) throw new ArgumentException("rsp cannot be an index register");
            int scale = m.Scale switch { 1 => 0, 2 => 1, 4 => 2, 8 => 3, _ => throw new ArgumentException("scale must be 1, 2, 4 or 8") };
            Emit((byte)(0x80 | reg << 3 | 4), (byte)(scale << 6 | ((int)index & 7) << 3 | b));
        }
        else if (b == 4) Emit((byte)(0x80 | reg << 3 | 4), 0x24);
        else Emit((byte)(0x80 | reg << 3 | b));
        Emit32(m.Disp);
    }

    private void Emit32(int v) => Emit((byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24));

    private void Emit(params ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) _code.Add(b);
    }
}
