// Keys and values of every past position, per layer: [layer][position][n_kv_head·head_dim], fp16 by default
// like llama.cpp (halves the memory and bandwidth of attention) or fp32.
using System.Runtime.InteropServices;

namespace LlamaAot.Model;

public enum KvCacheType { F16, F32 }

public sealed unsafe class KvCache : IDisposable
{
    public KvCache(int layers, int contextSize, int kvDim, KvCacheType type)
    {
        Layers = layers;
        ContextSize = contextSize;
        KvDim = kvDim;
        Type = type;
        ElementSize = type == KvCacheType.F16 ? 2 : 4;
        nuint bytes = (nuint)((long)layers * contextSize * kvDim * ElementSize);
        Keys = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        Values = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(Keys, bytes);
        NativeMemory.Clear(Values, bytes);
        Bytes = 2L * (long)bytes;
    }

    public int Layers { get; }
    public int ContextSize { get; }
    public int KvDim { get; }
    public KvCacheType Type { get; }
    public int ElementSize { get; }
    public long Bytes { get; }
    public byte* Keys { get; private set; }
    public byte* Values { get; private set; }

    /// <summary>Start of the key vector of (layer, position); values are laid out the same way.</summary>
    public byte* Key(int layer, int pos) => Keys + ((long)layer * ContextSize + pos) * KvDim * ElementSize;
    public byte* Value(int layer, int pos) => Values + ((long)layer * ContextSize + pos) * KvDim * ElementSize;

    public void Dispose()
    {
        NativeMemory.AlignedFree(Keys);
        NativeMemory.AlignedFree(Values);
        Keys = Values = null;
    }
}
