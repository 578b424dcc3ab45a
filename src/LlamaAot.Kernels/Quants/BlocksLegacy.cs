// Legacy 32-element block structs beyond Q4_0/Q8_0 (those live in Blocks.cs): Q4_1, Q5_0, Q5_1 weights and the Q8_1
// activation format. Field order and sizes mirror ggml-common.h's block_q4_1 / block_q5_0 / block_q5_1 / block_q8_1
// byte for byte (Pack = 1, sizes asserted in tests). Scales are raw IEEE fp16 bits. In every 32-block the low nibbles
// of qs hold elements 0..15 and the high nibbles elements 16..31; qh bit j is the 5th bit of element j.
using System.Runtime.InteropServices;

namespace LlamaAot.Kernels.Quants;

/// <summary>32 weights, 20 bytes: fp16 d, fp16 m (the block minimum), 16 bytes of nibbles; x[j] = q[j]·d + m.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ4_1
{
    public const int QK = 32;
    public ushort D;
    public ushort M;
    public fixed byte Qs[QK / 2];
}

/// <summary>32 weights, 22 bytes: fp16 d, 4 bytes of 5th bits, 16 bytes of nibbles; x[j] = (q[j] − 16)·d.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ5_0
{
    public const int QK = 32;
    public ushort D;
    public fixed byte Qh[4];   // ggml reads these 4 bytes as one little-endian uint32 (memcpy), bit j ↔ element j
    public fixed byte Qs[QK / 2];
}

/// <summary>32 weights, 24 bytes: fp16 d, fp16 m, 4 bytes of 5th bits, 16 bytes of nibbles; x[j] = q[j]·d + m.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ5_1
{
    public const int QK = 32;
    public ushort D;
    public ushort M;
    public fixed byte Qh[4];
    public fixed byte Qs[QK / 2];
}

/// <summary>32 activations, 36 bytes: fp16 d, fp16 s = d·Σq (lets the Q4_1/Q5_1 dots add the weight minimum's
/// contribution m·Σa without touching the quants), 32 signed bytes; x[j] = q[j]·d.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_1
{
    public const int QK = 32;
    public ushort D;
    public ushort S;
    public fixed sbyte Qs[QK];
}
