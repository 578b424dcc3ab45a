// AVX2 pieces shared by the K-quant · Q8_K dots (Dot*_KQ8_K.Avx2.cs): the group scales below serve Q5_K, Q3_K and
// Q2_K; ChunkPair serves all five, ScalesAndMins the Q4_K and Q5_K ones, Scale the Q6_K and Q3_K ones.
//   Scales: the spec's per-block products d = d_a·fp32(d_w) (and dmin) are formed for a group of 8 super-blocks at
//   once: one gather of the Q8_K fp32 d's and one gather of the 4 bytes holding the weight's fp16 d (and dmin),
//   converted with Fp16Vector (bit-exact with Fp16.ToFloat), kept on the stack for the loop's broadcasts. Lanes past
//   the group's count repeat its last block, so a gather never leaves the row.
//   Sub-block scales: Q2_K/Q3_K have 16 (one per 16 elements); as 16 int16 in a ymm (0..7 low half, 8..15 high),
//   chunk c (elements 32c..32c+31) needs sc[2c] in the low half (its first 16 bytes) and sc[2c+1] in the high one:
//   the 128-bit half holding them is broadcast to both halves once per block (vperm2i128), then one vpshufb with
//   PairMask(c & 3) per chunk. Q5_K has one scale per 32-element chunk: WordMask(j) broadcasts it.
//   Widening, integer sums and masks are plain helpers inlined into the guarded kernels (no calls in the loops).
//   Prompt kernels (Acts4: one weight row against four activation rows): a ChunkPair holds two 32-element chunks'
//   unsigned quants and int16 scale words, unpacked once and applied to each activation row; the per-block scalars
//   (d_a·d, −d_a·dmin) are formed per activation row exactly as the single-row dots form them (one fp32 product each,
//   so the same bits whether eight are formed in a vector or one at a time).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels.Quants;
using X86 = System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels.Dot;

/// <summary>Two 32-element chunks of a weight row, chunk i against activation bytes 32i..32i+31 of a 64-byte span:
/// their quants as unsigned bytes and their scales as int16 words (one per int16 pair of vpmaddubsw's output), made
/// once however many activation rows use them (AVX2; callers check).</summary>
internal readonly unsafe struct ChunkPair
{
    private readonly Vector256<byte> _u0, _u1;
    private readonly Vector256<short> _s0, _s1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ChunkPair(Vector256<byte> u0, Vector256<short> s0, Vector256<byte> u1, Vector256<short> s1)
    {
        _u0 = u0;
        _s0 = s0;
        _u1 = u1;
        _s1 = s1;
    }

    /// <summary>int32 lane j: Σ over bytes 4j..4j+3 of both chunks of u·a·scale, against the 64 activation bytes at q8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<int> Lanes(sbyte* q8) =>
        X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(_u0, Vector256.Load(q8)), _s0)
        + X86.Avx2.MultiplyAddAdjacent(X86.Avx2.MultiplyAddAdjacent(_u1, Vector256.Load(q8 + 32)), _s1);

    /// <summary>l_j += Lanes(q_j) for four activation rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddLanes(sbyte* q0, sbyte* q1, sbyte* q2, sbyte* q3,
        ref Vector256<int> l0, ref Vector256<int> l1, ref Vector256<int> l2, ref Vector256<int> l3)
    {
        l0 += Lanes(q0);
        l1 += Lanes(q1);
        l2 += Lanes(q2);
        l3 += Lanes(q3);
    }

    /// <summary>Lanes for quants stored as u = q + 4 (Q3_K): each int16 pair less vpmaddubsw(4, a), the same pair's
    /// 4·(a + a'), so the pair is exactly Σ q·a before its scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<int> LanesLess4(sbyte* q8)
    {
        var four = Vector256.Create((byte)4);
        var a0 = Vector256.Load(q8);
        var a1 = Vector256.Load(q8 + 32);
        var p0 = X86.Avx2.MultiplyAddAdjacent(_u0, a0) - X86.Avx2.MultiplyAddAdjacent(four, a0);
        var p1 = X86.Avx2.MultiplyAddAdjacent(_u1, a1) - X86.Avx2.MultiplyAddAdjacent(four, a1);
        return X86.Avx2.MultiplyAddAdjacent(p0, _s0) + X86.Avx2.MultiplyAddAdjacent(p1, _s1);
    }

    /// <summary>l_j += LanesLess4(q_j) for four activation rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddLanesLess4(sbyte* q0, sbyte* q1, sbyte* q2, sbyte* q3,
        ref Vector256<int> l0, ref Vector256<int> l1, ref Vector256<int> l2, ref Vector256<int> l3)
    {
        l0 += LanesLess4(q0);
        l1 += LanesLess4(q1);
        l2 += LanesLess4(q2);
        l3 += LanesLess4(q3);
    }
}

/// <summary>AVX2 building blocks of the K-quant dots; callers check Avx2 and Fma.</summary>
internal static unsafe class KQuantAvx2
{
    public const int Q8K = 292;        // sizeof(BlockQ8_K): fp32 d, 256 × int8, 16 × int16 bsums
    public const int QsOffset = 4;     // BlockQ8_K.Qs
    public const int BSumsOffset = 260; // BlockQ8_K.BSums
    public const int Group = 8;        // super-blocks whose scales one gather converts

    /// <summary>fp32 d of a group of up to 8 Q8_K blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ActScales8(byte* a, int count) =>
        X86.Avx2.GatherVector256((float*)a, IntDotAvx2.GroupOffsets(Q8K, count), 1);

    /// <summary>The 4 bytes at p of a group of up to 8 blocks `stride` apart (two fp16 fields).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Words8(byte* p, int stride, int count) =>
        X86.Avx2.GatherVector256((int*)p, IntDotAvx2.GroupOffsets(stride, count), 1);

    /// <summary>fp16 in the low 16 bits of each lane → fp32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LowHalf(Vector256<int> words) => Fp16Vector.HalfHiToSingleArith(words << 16);

    /// <summary>fp16 in the high 16 bits of each lane → fp32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HighHalf(Vector256<int> words) => Fp16Vector.HalfHiToSingleArith(words);

    /// <summary>The eight 6-bit sub-block scales (bytes 0..7) and mins (bytes 8..15) of a Q4_K/Q5_K block from its 12
    /// packed bytes (get_scale_min_k4): ggml's mask-and-shift sequence on the four 32-bit words of one vector load (the
    /// fourth word, past the 12 bytes and inside the block, is unused), with no scalar-to-vector inserts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> ScalesAndMins(byte* scales)
    {
        var v = Vector128.Load((uint*)scales);                                // u0 u1 u2 ·
        var t = X86.Sse2.Shuffle(v, 0b_01_01_00_00);                           // u0 u0 u1 u1
        var six = t & Vector128.Create(0x3f3f3f3fu);                           // lanes 0, 2: scales 0..3, mins 0..3
        var low = X86.Avx2.ShiftRightLogicalVariable(X86.Sse2.Shuffle(v, 0b_10_10_10_10), Vector128.Create(0u, 0, 0, 4));
        var top = ((t >>> 6) & Vector128.Create(0x03030303u)) << 4;           // lanes 1, 3: the 2 high bits from u0, u1
        var high = (low & Vector128.Create(0x0f0f0f0fu)) | top;                // lanes 1, 3: scales 4..7, mins 4..7
        return X86.Avx2.Blend(six, high, 0b1010).AsByte();
    }

    /// <summary>d_a · fp32(d_w) broadcast to 8 lanes, as the single-row dots form it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Scale(ushort dw, float da) =>
        X86.Avx2.BroadcastScalarToVector256(Vector128.CreateScalarUnsafe(da) * Widen(dw));

    /// <summary>fp32(d_w) in lane 0, widened as the single-row dots widen it (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Widen(ushort dw) => Fp16Vector.HalfHiToSingleArith(Vector128.CreateScalarUnsafe(dw << 16));

    /// <summary>−v by flipping the sign bit (exact: −(a·b) and (−a)·b round alike, zeros keep their signs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Negate(Vector256<float> v) => v ^ Vector256.Create(-0f);

    /// <summary>vpshufb mask taking int16 2i of a 128-bit half into the low half and int16 2i+1 into the high half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> PairMask(int i)
    {
        short lo = (short)((4 * i) | ((4 * i + 1) << 8)), hi = (short)((4 * i + 2) | ((4 * i + 3) << 8));
        return Vector256.Create(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi).AsByte();
    }

    /// <summary>vpshufb mask broadcasting int16 j of a 128-bit half to all 16 int16s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> WordMask(int j) => Vector256.Create((short)((2 * j) | ((2 * j + 1) << 8))).AsByte();

    /// <summary>16 unsigned bytes as int16 (bytes 0..7 in the low half, 8..15 in the high half).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Widen(Vector128<byte> v) => X86.Avx2.ConvertToVector256Int16(v);

    /// <summary>The 2-bit field s (0..3) of every byte: (q &gt;&gt; 2s) &amp; 3, with immediate shifts (16-bit: at most 6
    /// bits of the next byte move in, all above bit 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Field2(Vector256<byte> q, int s)
    {
        var v = s switch
        {
            0 => q,
            1 => X86.Avx2.ShiftRightLogical(q.AsUInt16(), 2).AsByte(),
            2 => X86.Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte(),
            _ => X86.Avx2.ShiftRightLogical(q.AsUInt16(), 6).AsByte(),
        };
        return v & Vector256.Create((byte)3);
    }

    /// <summary>Σ of the 8 int32 lanes (exact integer; any order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Sum(Vector256<int> v)
    {
        var t = v.GetLower() + v.GetUpper();
        t += X86.Sse2.Shuffle(t, 0b_01_00_11_10);
        t += X86.Sse2.Shuffle(t, 0b_10_11_00_01);
        return t.ToScalar();
    }
}
