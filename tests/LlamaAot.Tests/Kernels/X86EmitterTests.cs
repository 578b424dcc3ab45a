// The x86-64 encoder behind the emitted VNNI tiles (Jit/X86Emitter.cs), instruction by instruction: each form the
// tiles use against its bytes as GNU objdump decodes them (Intel syntax in the case names). The tiles themselves are
// checked by running them against Reference (IntDotPathTests, KQuantPathTests).
using LlamaAot.Kernels.Jit;

namespace LlamaAot.Tests.Kernels;

public class X86EmitterTests
{
    private static string Hex(Action<X86Emitter> emit)
    {
        var e = new X86Emitter();
        emit(e);
        return Convert.ToHexString(e.ToArray()).ToLowerInvariant();
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (name, _, hex) in Forms) data.Add(name, hex);
        return data;
    }

    private static readonly (string Name, Action<X86Emitter> Emit, string Hex)[] Forms =
    [
        ("vpxord zmm24,zmm24,zmm24", e => e.Xor(24, 24, 24), "62013d40efc0"),
        ("vmovdqu32 zmm1,[rsi+0x40]", e => e.LoadInt(1, new Mem(Gpr.Rsi, 0x40)), "62f17e486f8e40000000"),
        ("vmovups zmm8,[rsi+0x200]", e => e.LoadFloat(8, new Mem(Gpr.Rsi, 0x200)), "62717c48108600020000"),
        ("vmovups zmm13,[rax+0x40]", e => e.LoadFloat(13, new Mem(Gpr.Rax, 0x40)), "62717c4810a840000000"),
        ("vmovups [rax],zmm24", e => e.StoreFloat(new Mem(Gpr.Rax), 24), "62617c48118000000000"),
        ("vpbroadcastd zmm16,[rdx+0x20]", e => e.BroadcastInt(16, new Mem(Gpr.Rdx, 0x20)), "62e27d48588220000000"),
        ("vpdpbusd zmm16,zmm0,[r8]{1to16}", e => e.DotBytesBroadcast(16, 0, new Mem(Gpr.R8)), "62c27d58508000000000"),
        ("vpdpbusd zmm16,zmm1,[r8+0x4]{1to16}", e => e.DotBytesBroadcast(16, 1, new Mem(Gpr.R8, 4)), "62c27558508004000000"),
        ("vpdpwssd zmm16,zmm10,zmm8", e => e.DotWords(16, 10, 8), "62c22d4852c0"),
        ("vpdpwssd zmm10,zmm0,[rdx+0x20]{1to16}", e => e.DotWordsBroadcast(10, 0, new Mem(Gpr.Rdx, 0x20)), "62727d58529220000000"),
        ("vcvtdq2ps zmm16,zmm16", e => e.IntToFloat(16, 16), "62a17c485bc0"),
        ("vmulps zmm9,zmm8,[rdx]{1to16}", e => e.MultiplyBroadcast(9, 8, new Mem(Gpr.Rdx)), "62713c58598a00000000"),
        ("vaddps zmm20,zmm16,zmm28", e => e.AddFloat(20, 16, 28), "62817c4058e4"),
        ("vaddps zmm3,zmm17,zmm5", e => e.AddFloat(3, 17, 5), "62f1744058dd"),
        ("vfmadd231ps zmm24,zmm16,zmm9", e => e.FusedMultiplyAdd(24, 16, 9), "62427d40b8c1"),
        ("vfmadd231ps ymm24,ymm16,ymm15", e => e.FusedMultiplyAdd(24, 16, 15, 256), "62427d20b8c7"),
        ("vmulps ymm15,ymm13,[r8-0x4]{1to8}", e => e.MultiplyBroadcast(15, 13, new Mem(Gpr.R8, -4), 256), "6251143859b8fcffffff"),
        ("vextracti64x4 ymm14,zmm16,0x1", e => e.ExtractUpper256(14, 16), "62c3fd483bc601"),
        ("vextracti64x4 ymm9,zmm23,0x1", e => e.ExtractUpper256(9, 23), "62c3fd483bf901"),
        ("vmovdqa32 zmm2,zmm20", e => e.Move(2, 20), "62b17d486fd4"),
        ("vpermi2b zmm2,zmm0,zmm1", e => e.PermuteBytes(2, 0, 1), "62f27d4875d1"),
        ("vpermi2b zmm11,zmm9,[rdx+0x50]", e => e.PermuteBytes(11, 9, new Mem(Gpr.Rdx, 0x50)), "62723548759a50000000"),
        ("vpermd zmm31,zmm23,zmm28", e => e.PermuteInt32(31, 23, 28), "6202454036fc"),
        ("vpandd zmm4,zmm2,zmm24", e => e.And(4, 2, 24), "62916d48dbe0"),
        ("vgf2p8affineqb zmm4,zmm2,zmm25,0x0", e => e.GaloisAffine(4, 2, 25, 0), "6293ed48cee100"),
        ("vpdpbusd zmm5,zmm4,zmm16", e => e.DotBytes(5, 4, 16), "62b25d4850e8"),
        ("vpunpckldq zmm27,zmm5,zmm6", e => e.UnpackLowInt32(27, 5, 6), "6261554862de"),
        ("vpunpckhdq zmm28,zmm13,zmm14", e => e.UnpackHighInt32(28, 13, 14), "624115486ae6"),
        ("vpshufd ymm10,ymm9,0x1", e => e.ShuffleInt32(10, 9, 1), "62517d2870d101"),
        ("vpshufd ymm3,ymm17,0xb1", e => e.ShuffleInt32(3, 17, 0xb1), "62b17d2870d9b1"),
        ("vpunpcklqdq zmm28,zmm27,zmm29", e => e.UnpackLowInt64(28, 27, 29), "6201a5406ce5"),
        ("vpunpckhqdq zmm30,zmm27,zmm29", e => e.UnpackHighInt64(30, 27, 29), "6201a5406df5"),
        ("vpaddd zmm28,zmm28,zmm30", e => e.AddInt(28, 28, 30), "62011d40fee6"),
        ("vpsubd zmm31,zmm31,zmm26", e => e.SubtractInt(31, 31, 26), "62010540fafa"),
        ("vbroadcasti32x8 zmm26,[r10]", e => e.BroadcastInt256(26, new Mem(Gpr.R10)), "62427d485b9200000000"),
        ("vcvtph2ps ymm7,xmm7", e => e.HalfToFloat256(7, 7), "62f27d2813ff"),
        ("vcvtph2ps ymm15,xmm15", e => e.HalfToFloat256(15, 15), "62527d2813ff"),
        ("vmulps ymm7,ymm7,[r9]", e => e.Multiply256(7, 7, new Mem(Gpr.R9)), "62d1442859b900000000"),
        ("vmovups [rax],ymm7", e => e.Store256(new Mem(Gpr.Rax), 7), "62f17c2811b800000000"),
        ("vmovss [rax+0x20],xmm15", e => e.StoreScalar(new Mem(Gpr.Rax, 0x20), 15), "62717e0811b820000000"),
        ("vfmadd231ps xmm3,xmm5,[rax+0x10]", e => e.FusedMultiplyAdd(3, 5, new Mem(Gpr.Rax, 0x10), 128), "62f25508b89810000000"),
        ("vfmadd231ps xmm2,xmm17,[r11]", e => e.FusedMultiplyAdd(2, 17, new Mem(Gpr.R11), 128), "62d27500b89300000000"),
        ("vmovups [rax],xmm3", e => e.Store128(new Mem(Gpr.Rax), 3), "62f17c08119800000000"),
        ("vmovups [r11+0x8],xmm19", e => e.Store128(new Mem(Gpr.R11, 8), 19), "62c17c08119b08000000"),
        ("vmovss [r9+0x4],xmm20", e => e.StoreScalar(new Mem(Gpr.R9, 4), 20), "62c17e0811a104000000"),
        ("vpaddd xmm12,xmm12,xmm11", e => e.AddInt(12, 12, 11, 128), "62511d08fee3"),
        ("vcvtdq2ps xmm12,xmm12", e => e.IntToFloat(12, 12, 128), "62517c085be4"),
        ("vfmadd231ps xmm15,xmm12,xmm7", e => e.FusedMultiplyAdd(15, 12, 7, 128), "62721d08b8ff"),
        ("vpxord xmm15,xmm15,xmm15", e => e.Xor(15, 15, 15, 128), "62510508efff"),
        ("vpsubw ymm8,ymm8,ymm30", e => e.SubtractWords(8, 8, 30, 256), "62113d28f9c6"),
        ("vmulps zmm9,zmm9,[r9+0x40]", e => e.Multiply(9, 9, new Mem(Gpr.R9, 0x40)), "62513448598940000000"),
        ("vpshufd zmm10,zmm9,0x55", e => e.ShuffleInt32(10, 9, 0x55, 512), "62517d4870d155"),
        ("vinserti32x4 zmm4,zmm4,[rsi+0x90],1", e => e.InsertQuarter(4, 4, new Mem(Gpr.Rsi, 0x90), 1), "62f35d4838a69000000001"),
        ("vinserti32x4 zmm10,zmm10,[rdx+r11*1+0x8],2", e => e.InsertQuarter(10, 10, new Mem(Gpr.Rdx, 8, Gpr.R11), 2), "62332d4838941a0800000002"),
        ("vmovups [r11+rdi*1],ymm31", e => e.Store256(new Mem(Gpr.R11, 0, Gpr.Rdi), 31), "62417c2811bc3b00000000"),
        ("vextractf32x8 [r11+rdi*1],zmm31,0x1", e => e.StoreUpper256(new Mem(Gpr.R11, 0, Gpr.Rdi), 31), "62437d481bbc3b0000000001"),
        ("prefetcht1 [rsi+0x2000]", e => e.PrefetchL2(new Mem(Gpr.Rsi, 0x2000)), "0f189600200000"),
        ("prefetcht1 [r8+0x40]", e => e.PrefetchL2(new Mem(Gpr.R8, 0x40)), "410f189040000000"),
        ("vmovdqu32 xmm28,[rsi+0x90]", e => e.LoadInt(28, new Mem(Gpr.Rsi, 0x90), 128), "62617e086fa690000000"),
        ("vmovdqu32 ymm0,[rsi+0x10]", e => e.LoadInt(0, new Mem(Gpr.Rsi, 0x10), 256), "62f17e286f8610000000"),
        ("vpxord ymm8,ymm8,ymm8", e => e.Xor(8, 8, 8, 256), "62513d28efc0"),
        ("vpandd ymm1,ymm0,ymm20", e => e.And(1, 0, 20, 256), "62b17d28dbcc"),
        ("vpord xmm16,xmm16,xmm18", e => e.Or(16, 16, 18, 128), "62a17d00ebc2"),
        ("vpandd xmm18,xmm18,xmm25", e => e.And(18, 18, 25, 128), "62816d00dbd1"),
        ("vpshufb xmm16,xmm28,xmm22", e => e.ShuffleBytes(16, 28, 22, 128), "62a21d0000c6"),
        ("vpsrlw xmm18,xmm16,0x4", e => e.ShiftRightWords(18, 16, 4, 128), "62b16d0071d004"),
        ("vpmovzxbd zmm19,xmm16", e => e.ZeroExtendBytesToInt32(19, 16), "62a27d4831d8"),
        ("vshufi32x4 ymm0,ymm1,ymm5,0x3", e => e.ShuffleHalves256(0, 1, 5, 3), "62f3752843c503"),
        ("vshufi32x4 zmm8,zmm0,zmm4,0x88", e => e.ShuffleQuarters(8, 0, 4, 0x88), "62737d4843c488"),
        ("vshufi32x4 zmm31,zmm31,zmm31,0xd8", e => e.ShuffleQuarters(31, 31, 31, 0xd8), "6203054043ffd8"),
        ("vshufi32x4 zmm19,zmm3,zmm7,0xdd", e => e.ShuffleQuarters(19, 3, 7, 0xdd), "62e3654843dfdd"),
        ("vgf2p8affineqb ymm2,ymm0,ymm21,0x0", e => e.GaloisAffine(2, 0, 21, 0, 256), "62b3fd28ced500"),
        ("vpdpbusd ymm3,ymm1,[r8+0x44]", e => e.DotBytes(3, 1, new Mem(Gpr.R8, 0x44), 256), "62d27528509844000000"),
        ("vpdpwssd ymm8,ymm3,[rdx+0x8]{1to8}", e => e.DotWordsBroadcast(8, 3, new Mem(Gpr.Rdx, 8), 256), "62726538528208000000"),
        ("vpdpwssd ymm9,ymm18,[r9+0x20]", e => e.DotWords(9, 18, new Mem(Gpr.R9, 0x20), 256), "62526d20528920000000"),
        ("vpunpckldq ymm0,ymm8,ymm9", e => e.UnpackLowInt32(0, 8, 9, 256), "62d13d2862c1"),
        ("vpunpckhqdq ymm3,ymm0,ymm2", e => e.UnpackHighInt64(3, 0, 2, 256), "62f1fd286dda"),
        ("vpunpckldq xmm1,xmm28,xmm29", e => e.UnpackLowInt32(1, 28, 29, 128), "62911d0062cd"),
        ("vpaddd ymm0,ymm0,ymm2", e => e.AddInt(0, 0, 2, 256), "62f17d28fec2"),
        ("vcvtdq2ps ymm0,ymm0", e => e.IntToFloat(0, 0, 256), "62f17c285bc0"),
        ("vbroadcastss zmm20,[r8+0x200]", e => e.BroadcastFloat(20, new Mem(Gpr.R8, 0x200)), "62c27d4818a000020000"),
        ("vbroadcastss zmm20,[rax+0x1000]", e => e.BroadcastFloat(20, new Mem(Gpr.Rax, 0x1000)), "62e27d4818a000100000"),
        ("vcvtps2ph ymm21,zmm3,0x0", e => e.FloatToHalf(21, 3, 0), "62b37d481ddd00"),
        ("vcvtps2ph ymm24,zmm15,0x0", e => e.FloatToHalf(24, 15, 0), "62137d481df800"),
        ("vcvtph2ps zmm3,ymm21", e => e.HalfToFloat(3, 21), "62b27d4813dd"),
        ("vcvtph2ps zmm15,ymm24", e => e.HalfToFloat(15, 24), "62127d4813f8"),
        ("vmulps zmm5,zmm5,zmm20", e => e.Multiply(5, 5, 20), "62b1544859ec"),
        ("vaddps zmm5,zmm5,zmm17", e => e.AddFloat(5, 5, 17), "62b1544858e9"),
        ("cmp byte [r9+0x180],0x0", e => e.CompareByteToZero(new Mem(Gpr.R9, 0x180)), "4180b98001000000"),
        ("cmp byte [rax+0x100],0x0", e => e.CompareByteToZero(new Mem(Gpr.Rax, 0x100)), "80b80001000000"),
        ("vinserti64x4 zmm5,zmm5,[rsi+r11*1+0x2],0x1", e => e.InsertUpper256(5, 5, new Mem(Gpr.Rsi, 2, Gpr.R11)), "62b3d5483aac1e0200000001"),
        ("vinserti64x4 zmm20,zmm9,[rdx+r11*1+0x2],0x1", e => e.InsertUpper256(20, 9, new Mem(Gpr.Rdx, 2, Gpr.R11)), "62a3b5483aa41a0200000001"),
        ("vpbroadcastw xmm6,[rsi+0x0]", e => e.BroadcastWord128(6, new Mem(Gpr.Rsi)), "62f27d0879b600000000"),
        ("vpbroadcastw xmm23,[rdx+r11*1+0x0]", e => e.BroadcastWord128(23, new Mem(Gpr.Rdx, 0, Gpr.R11)), "62a27d0879bc1a00000000"),
        ("vinserti32x4 ymm6,ymm6,xmm7,0x1", e => e.InsertUpper128(6, 6, 7), "62f34d2838f701"),
        ("vinserti32x4 ymm22,ymm22,xmm23,0x1", e => e.InsertUpper128(22, 22, 23), "62a34d2038f701"),
        ("vpmaddubsw zmm2,zmm1,[r8+0x44]", e => e.MultiplyAddBytes(2, 1, new Mem(Gpr.R8, 0x44)), "62d27548049044000000"),
        ("vpmaddubsw zmm2,zmm1,[r8+0x1a4]", e => e.MultiplyAddBytes(2, 1, new Mem(Gpr.R8, 0x1a4)), "62d275480490a4010000"),
        ("vpermw zmm3,zmm26,zmm16", e => e.PermuteWords(3, 26, 16), "62b2ad408dd8"),
        ("vpermw zmm17,zmm30,zmm16", e => e.PermuteWords(17, 30, 16), "62a28d408dc8"),
        ("vpmovzxbw ymm16,xmm17", e => e.ZeroExtendBytesToWords256(16, 17), "62a27d2830c1"),
        ("vpmovzxbw ymm16,xmm4", e => e.ZeroExtendBytesToWords256(16, 4), "62e27d2830c4"),
        ("vpmovzxbw zmm16,ymm17", e => e.ZeroExtendBytesToWords(16, 17), "62a27d4830c1"),
        ("vpmovzxbw zmm3,ymm5", e => e.ZeroExtendBytesToWords(3, 5), "62f27d4830dd"),
        ("vpsllvw zmm2,zmm1,zmm18", e => e.ShiftLeftWordsVariable(2, 1, 18), "62b2f54812d2"),
        ("vpsrlvw zmm2,zmm1,zmm19", e => e.ShiftRightWordsVariable(2, 1, 19), "62b2f54810d3"),
        ("vpternlogd zmm2,zmm0,zmm16,0xd8", e => e.TernaryLogic(2, 0, 16, 0xd8), "62b37d4825d0d8"),
        ("vpternlogd zmm2,zmm7,zmm16,0xd8", e => e.TernaryLogic(2, 7, 16, 0xd8), "62b3454825d0d8"),
        ("vpsllw ymm5,ymm6,0x5", e => e.ShiftLeftWords256(5, 6, 5), "62f1552871f605"),
        ("vpmovsxbw ymm6,[rsi+0xc0]", e => e.SignExtendBytesToWords256(6, new Mem(Gpr.Rsi, 0xc0)), "62f27d2820b6c0000000"),
        ("vzeroupper", e => e.ZeroUpper(), "c5f877"),
        ("mov rcx,[rdi+0x10]; mov r8,[rdi+0x18]", e => e.LoadFields(Gpr.Rdi, 2, Gpr.Rcx, Gpr.R8), "488b8f10000000" + "4c8b8718000000"),
        ("mov rbx,0x8; mov r12,0x100", e => { e.Set(Gpr.Rbx, 8); e.Set(Gpr.R12, 0x100); }, "48c7c308000000" + "49c7c400010000"),
        ("push r13; push r14; push r15", e => { e.Push(Gpr.R13); e.Push(Gpr.R14); e.Push(Gpr.R15); }, "415541564157"),
        ("vcvtph2ps zmm17,[r11+0x20]", e => e.HalfToFloat(17, new Mem(Gpr.R11, 0x20)), "62c27d48138b20000000"),
        ("vpermi2ps zmm8,zmm27,zmm4", e => e.PermuteFloats2(8, 27, 4), "6272254077c4"),
        ("vpermi2ps zmm9,zmm28,zmm29", e => e.PermuteFloats2(9, 28, 29), "62121d4077cd"),
        ("vinserti64x4 zmm28,zmm7,ymm15,0x1", e => e.InsertUpper256(28, 7, 15), "6243c5483ae701"),
        ("push rbx; push r12", e => { e.Push(Gpr.Rbx); e.Push(Gpr.R12); }, "534154"),
        ("pop r12; pop rbx", e => { e.Pop(Gpr.R12); e.Pop(Gpr.Rbx); }, "415c5b"),
        ("mov r9,[rdi+0x18]", e => e.Load(Gpr.R9, new Mem(Gpr.Rdi, 0x18)), "4c8b8f18000000"),
        ("mov rsi,[rdi+0x0]; mov r9,[rdi+0x8]", e => e.LoadFields(Gpr.Rdi, Gpr.Rsi, Gpr.R9), "488bb700000000" + "4c8b8f08000000"),
        ("lea r11,[r8+r9*2]", e => e.Lea(Gpr.R11, new Mem(Gpr.R8, 0, Gpr.R9, 2)), "4f8d9c4800000000"),
        ("add rsi,0x240", e => e.Add(Gpr.Rsi, 0x240), "4881c640020000"),
        ("add r8,0x22", e => e.Add(Gpr.R8, 0x22), "4981c022000000"),
        ("sub rcx,0x1", e => e.Sub(Gpr.Rcx, 1), "4881e901000000"),
        ("add rax,rcx", e => e.Add(Gpr.Rax, Gpr.Rcx), "4801c8"),
        ("ret", e => e.Return(), "c3"),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encodes_like_the_manual(string name, string hex)
    {
        var form = Forms.Single(f => f.Name == name);
        Assert.Equal(hex, Hex(form.Emit));
    }

    [Fact]
    public void A_backward_jump_lands_on_its_target()
    {
        // jne rel32 is six bytes; from offset 7 back to 0 the displacement is −13.
        string hex = Hex(e =>
        {
            int loop = e.Position;
            e.Sub(Gpr.Rcx, 1);
            e.JumpIfNotZero(loop);
        });
        Assert.Equal("4881e901000000" + "0f85f3ffffff", hex);
    }

    [Fact]
    public void Forward_and_backward_jumps_land_on_their_targets()
    {
        // jne rel32 at 0 over a one-byte ret to 7: +1; jmp rel32 at 7 back to 0: −12.
        string hex = Hex(e =>
        {
            int start = e.Position;
            int field = e.JumpIfNotZeroForward();
            e.Return();
            e.Bind(field);
            e.Jump(start);
        });
        Assert.Equal("0f8501000000" + "c3" + "e9f4ffffff", hex);
        // je rel32 at 0 over two one-byte rets to 8: +2.
        Assert.Equal("0f8402000000" + "c3c3", Hex(e =>
        {
            int field = e.JumpIfZeroForward();
            e.Return();
            e.Return();
            e.Bind(field);
        }));
    }

    [Fact]
    public void A_loop_end_steps_each_register_counts_down_and_jumps_back()
    {
        // add rsi,0x240; add r8,0x22; sub rcx,1 (21 bytes), then jne rel32 back to 0: −27.
        string hex = Hex(e => e.NextIteration(0, Gpr.Rcx, [(Gpr.Rsi, 0x240), (Gpr.R8, 0x22)]));
        Assert.Equal("4881c640020000" + "4981c022000000" + "4881e901000000" + "0f85e5ffffff", hex);
    }

    [Fact]
    public void An_rsp_index_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Hex(e => e.Load(Gpr.Rax, new Mem(Gpr.Rdi, 0, Gpr.Rsp, 1))));
    }
}
