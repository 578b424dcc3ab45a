// K-quant super-block structs (256 elements, QK_K) mirroring ggml-common.h's block_q2_K … block_q8_K field order byte
// for byte (Pack = 1, sizes asserted in tests), and the two packed-scale decoders the K formats share (KScales).
// Scales d/dmin are raw IEEE fp16 bits except BlockQ8_K.D, which ggml keeps as an fp32 because it is never stored.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LlamaAot.Kernels.Quants;

/// <summary>256 weights, 84 bytes (2.625 bpw): 16 sub-blocks of 16, each with a 4-bit scale (low nibble) and 4-bit
/// min (high nibble); 2-bit quants; x = d·sc·q − dmin·m. qs byte l of 32-byte group g holds elements
/// 128g + l + 32·s (s = 0..3) in bits 2s..2s+1.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ2_K
{
    public const int QK = 256;
    public fixed byte Scales[QK / 16];
    public fixed byte Qs[QK / 4];
    public ushort D;
    public ushort DMin;
}

/// <summary>256 weights, 110 bytes (3.4375 bpw): 16 sub-blocks of 16 with 6-bit signed scales (packed in 12 bytes,
/// bias 32); quants are 2 low bits in qs plus a high bit in hmask (set means +4, i.e. q − 4 when clear); x = d·(sc−32)·q.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ3_K
{
    public const int QK = 256;
    public fixed byte HMask[QK / 8];
    public fixed byte Qs[QK / 4];
    public fixed byte Scales[12];
    public ushort D;
}

/// <summary>256 weights, 144 bytes (4.5 bpw): 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes
/// (KScales.ScaleMinK4); 4-bit quants, 32-byte group g holds elements 64g..64g+31 (low) and 64g+32.. (high);
/// x = d·sc·q − dmin·m.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ4_K
{
    public const int QK = 256;
    public ushort D;
    public ushort DMin;
    public fixed byte Scales[12];
    public fixed byte Qs[QK / 2];
}

/// <summary>256 weights, 176 bytes (5.5 bpw): Q4_K's layout plus a 5th bit per element in qh (bit 2g of qh[l] for
/// the low nibble of group g, bit 2g+1 for the high one); x = d·sc·q − dmin·m.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ5_K
{
    public const int QK = 256;
    public ushort D;
    public ushort DMin;
    public fixed byte Scales[12];
    public fixed byte Qh[QK / 8];
    public fixed byte Qs[QK / 2];
}

/// <summary>256 weights, 210 bytes (6.5625 bpw): 16 sub-blocks of 16 with int8 scales; 6-bit quants as 4 low bits in
/// ql and 2 high bits in qh, bias 32; x = d·sc·(q − 32).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ6_K
{
    public const int QK = 256;
    public fixed byte Ql[QK / 2];
    public fixed byte Qh[QK / 4];
    public fixed sbyte Scales[QK / 16];
    public ushort D;
}

/// <summary>256 activations, 292 bytes: fp32 d, int8 quants, and the sums of each 16 quants (bsums) so the K dots can
/// apply a weight sub-block's min without a second pass; x = d·q. Only ever an intermediate, never stored in files.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_K
{
    public const int QK = 256;
    public float D;
    public fixed sbyte Qs[QK];
    public fixed short BSums[QK / 16];
}

/// <summary>Decoders of the packed sub-block scales shared by the K formats (ggml-quants.c).</summary>
public static unsafe class KScales
{
    /// <summary>Q4_K/Q5_K: 6-bit scale d and min m of sub-block j (0..7) from the 12 scale bytes (get_scale_min_k4).
    /// Bytes 0..3 hold d0..d3 (+ top 2 bits of d4..d7), bytes 4..7 m0..m3 (+ top bits of m4..m7), bytes 8..11 the low
    /// nibbles of d4..d7 and m4..m7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ScaleMinK4(int j, byte* q, out byte d, out byte m)
    {
        if (j < 4)
        {
            d = (byte)(q[j] & 63);
            m = (byte)(q[j + 4] & 63);
        }
        else
        {
            d = (byte)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
            m = (byte)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
        }
    }

    /// <summary>Q3_K: the 16 biased 6-bit scales (0..63, subtract 32) from the 12 packed bytes, by ggml's kmask word
    /// shuffle: low nibbles of sub-blocks 0..7 in bytes 0..7, high nibbles of 8..15 in bytes 0..7's upper halves,
    /// the 2 top bits of all 16 in bytes 8..11.</summary>
    public static void Q3Scales(byte* packed, sbyte* scales16)
    {
        const uint kmask1 = 0x03030303;
        const uint kmask2 = 0x0f0f0f0f;
        uint a0 = Unsafe.ReadUnaligned<uint>(packed);
        uint a1 = Unsafe.ReadUnaligned<uint>(packed + 4);
        uint tmp = Unsafe.ReadUnaligned<uint>(packed + 8);
        Unsafe.WriteUnaligned(scales16 + 0, (a0 & kmask2) | (((tmp >> 0) & kmask1) << 4));
        Unsafe.WriteUnaligned(scales16 + 4, (a1 & kmask2) | (((tmp >> 2) & kmask1) << 4));
        Unsafe.WriteUnaligned(scales16 + 8, ((a0 >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4));
        Unsafe.WriteUnaligned(scales16 + 12, ((a1 >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4));
    }
}
