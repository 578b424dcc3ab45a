// The ggml tensor type ids as they appear in GGUF files, and one table of their block geometry.
// Ids and sizes follow ggml.h / ggml.c's type_traits so a reader of either can map one to the other.
namespace LlamaAot.Kernels.Quants;

/// <summary>ggml tensor type ids (the numbers stored in a GGUF tensor info).</summary>
public enum GgmlType : uint
{
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3,
    // 4 and 5 were Q4_2 and Q4_3, removed from ggml; files carrying them are rejected as unknown.
    Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
    I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    // 31..33 were the Q4_0_4_4 family of repacked layouts, removed from the file format.
    TQ1_0 = 34, TQ2_0 = 35,
    // 36..38 were IQ4_NL_4_x repacked layouts, removed as well.
    MXFP4 = 39,
}

/// <summary>Block geometry of one ggml type: a row of n elements takes n / BlockSize * TypeSize bytes.</summary>
public readonly record struct GgmlTypeInfo(GgmlType Type, string Name, int BlockSize, int TypeSize, bool IsQuantized);

/// <summary>The one table of ggml type geometry, indexed by type id.</summary>
public static class GgmlTypes
{
    private static readonly GgmlTypeInfo?[] Table = Build();

    private static GgmlTypeInfo?[] Build()
    {
        var t = new GgmlTypeInfo?[40];
        void Add(GgmlType type, int blockSize, int typeSize, bool quantized) =>
            t[(int)type] = new GgmlTypeInfo(type, type.ToString(), blockSize, typeSize, quantized);
        // Plain element types.
        Add(GgmlType.F32, 1, 4, false);
        Add(GgmlType.F16, 1, 2, false);
        Add(GgmlType.BF16, 1, 2, false);
        Add(GgmlType.F64, 1, 8, false);
        Add(GgmlType.I8, 1, 1, false);
        Add(GgmlType.I16, 1, 2, false);
        Add(GgmlType.I32, 1, 4, false);
        Add(GgmlType.I64, 1, 8, false);
        // Legacy 32-element blocks: fp16 scale (+ fp16 min / sum) + packed quants.
        Add(GgmlType.Q4_0, 32, 18, true);
        Add(GgmlType.Q4_1, 32, 20, true);
        Add(GgmlType.Q5_0, 32, 22, true);
        Add(GgmlType.Q5_1, 32, 24, true);
        Add(GgmlType.Q8_0, 32, 34, true);
        Add(GgmlType.Q8_1, 32, 36, true);
        // K-quants: 256-element super-blocks.
        Add(GgmlType.Q2_K, 256, 84, true);
        Add(GgmlType.Q3_K, 256, 110, true);
        Add(GgmlType.Q4_K, 256, 144, true);
        Add(GgmlType.Q5_K, 256, 176, true);
        Add(GgmlType.Q6_K, 256, 210, true);
        Add(GgmlType.Q8_K, 256, 292, true);
        // i-quants and ternary types: geometry known so files parse; compute support comes later.
        Add(GgmlType.IQ2_XXS, 256, 66, true);
        Add(GgmlType.IQ2_XS, 256, 74, true);
        Add(GgmlType.IQ3_XXS, 256, 98, true);
        Add(GgmlType.IQ1_S, 256, 50, true);
        Add(GgmlType.IQ4_NL, 32, 18, true);
        Add(GgmlType.IQ3_S, 256, 110, true);
        Add(GgmlType.IQ2_S, 256, 82, true);
        Add(GgmlType.IQ4_XS, 256, 136, true);
        Add(GgmlType.IQ1_M, 256, 56, true);
        Add(GgmlType.TQ1_0, 256, 54, true);
        Add(GgmlType.TQ2_0, 256, 66, true);
        Add(GgmlType.MXFP4, 32, 17, true);
        return t;
    }

    /// <summary>All known types, in id order.</summary>
    public static IEnumerable<GgmlTypeInfo> All
    {
        get
        {
            foreach (var info in Table)
            {
                if (info is { } i) yield return i;
            }
        }
    }

    /// <summary>Looks up a raw type id from a file; false for ids ggml never defined or has removed.</summary>
    public static bool TryGet(uint id, out GgmlTypeInfo info)
    {
        if (id < (uint)Table.Length && Table[id] is { } found)
        {
            info = found;
            return true;
        }
        info = default;
        return false;
    }

    public static GgmlTypeInfo Get(GgmlType type) =>
        TryGet((uint)type, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(type), type, "unknown ggml type");

    /// <summary>Bytes taken by a row of <paramref name="elements"/> values; elements must be a multiple of the block size.</summary>
    public static long RowBytes(GgmlType type, long elements)
    {
        var info = Get(type);
        return elements / info.BlockSize * info.TypeSize;
    }
}
