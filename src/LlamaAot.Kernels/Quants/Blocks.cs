// Block structs that mirror ggml's on-disk bytes (Pack = 1, sizes asserted in tests). Scales are raw IEEE fp16 bits.
using System.Runtime.InteropServices;

namespace LlamaAot.Kernels.Quants;

/// <summary>32 weights: fp16 scale d, 16 bytes of 4-bit quants; x[j] = (nibble - 8) * d, low nibbles hold j &lt; 16.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ4_0
{
    public const int QK = 32;
    public ushort D;
    public fixed byte Qs[QK / 2];
}

/// <summary>32 values: fp16 scale d, 32 signed bytes; x[j] = q[j] * d. Also the activation format of the legacy dots.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_0
{
    public const int QK = 32;
    public ushort D;
    public fixed sbyte Qs[QK];
}
