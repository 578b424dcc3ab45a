// XXH64 (xxHash, 64-bit variant) written from its public specification, used to fingerprint tensor data.
// The System.IO.Hashing package is not served to this build, so this type mirrors the shape of its XxHash64
// (same member names, same big-endian byte output) and can be swapped for the package without touching callers.

using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LlamaAot.Hashing;

public sealed class XxHash64
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;
    private const ulong Prime3 = 0x165667B19E3779F9UL;
    private const ulong Prime4 = 0x85EBCA77C2B2AE63UL;
    private const ulong Prime5 = 0x27D4EB2F165667C5UL;

    private const int StripeSize = 32;

    private readonly ulong _seed;
    private ulong _acc1, _acc2, _acc3, _acc4;
    // Holds the tail of a stripe that straddles two Append calls; inline so an instance is a single allocation.
    private StripeBuffer _pending;
    private int _pendingCount;
    private ulong _totalLength;

    public XxHash64() : this(0)
    {
    }

    public XxHash64(long seed)
    {
        _seed = unchecked((ulong)seed);
        Reset();
    }

    public void Reset()
    {
        InitAccumulators(_seed, out _acc1, out _acc2, out _acc3, out _acc4);
        _pendingCount = 0;
        _totalLength = 0;
    }

    public void Append(ReadOnlySpan<byte> source)
    {
        _totalLength += (ulong)source.Length;
        Span<byte> pending = _pending;

        if (_pendingCount > 0)
        {
            int take = Math.Min(StripeSize - _pendingCount, source.Length);
            source[..take].CopyTo(pending[_pendingCount..]);
            _pendingCount += take;
            source = source[take..];
            if (_pendingCount < StripeSize)
            {
                return;
            }

            ConsumeStripes(ref _acc1, ref _acc2, ref _acc3, ref _acc4, ref MemoryMarshal.GetReference(pending), 1);
            _pendingCount = 0;
        }

        nuint stripes = (nuint)(source.Length / StripeSize);
        if (stripes != 0)
        {
            ConsumeStripes(ref _acc1, ref _acc2, ref _acc3, ref _acc4, ref MemoryMarshal.GetReference(source), stripes);
            source = source[(int)(stripes * StripeSize)..];
        }

        source.CopyTo(pending);
        _pendingCount = source.Length;
    }

    // Leaves the state untouched so callers can checkpoint a running hash and keep appending.
    public ulong GetCurrentHashAsUInt64()
    {
        ulong acc = _totalLength >= StripeSize
            ? MergeAccumulators(_acc1, _acc2, _acc3, _acc4)
            : _seed + Prime5;
        acc += _totalLength;
        ReadOnlySpan<byte> pending = _pending;
        return Finish(acc, ref MemoryMarshal.GetReference(pending), (nuint)_pendingCount);
    }

    // Big-endian to match System.IO.Hashing (and xxHash's canonical form), so stored digests stay valid after a swap.
    public byte[] GetCurrentHash()
    {
        byte[] result = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(result, GetCurrentHashAsUInt64());
        return result;
    }

    public static byte[] Hash(ReadOnlySpan<byte> source, long seed = 0)
    {
        byte[] result = new byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64BigEndian(result, HashToUInt64(source, seed));
        return result;
    }

    public static ulong HashToUInt64(ReadOnlySpan<byte> source, long seed = 0)
    {
        ulong s = unchecked((ulong)seed);
        ref byte start = ref MemoryMarshal.GetReference(source);
        nuint length = (nuint)source.Length;
        nuint stripes = length / StripeSize;

        ulong acc;
        if (stripes != 0)
        {
            InitAccumulators(s, out ulong a1, out ulong a2, out ulong a3, out ulong a4);
            ConsumeStripes(ref a1, ref a2, ref a3, ref a4, ref start, stripes);
            acc = MergeAccumulators(a1, a2, a3, a4);
        }
        else
        {
            acc = s + Prime5;
        }

        acc += length;
        nuint consumed = stripes * StripeSize;
        return Finish(acc, ref Unsafe.Add(ref start, consumed), length - consumed);
    }

    private static void InitAccumulators(ulong seed, out ulong a1, out ulong a2, out ulong a3, out ulong a4)
    {
        unchecked
        {
            a1 = seed + Prime1 + Prime2;
            a2 = seed + Prime2;
            a3 = seed;
            a4 = seed - Prime1;
        }
    }

    // Accumulators live in locals for the loop so the JIT keeps all four chains in registers instead of
    // writing through the refs (which may point at heap fields) on every stripe.
    private static void ConsumeStripes(ref ulong acc1, ref ulong acc2, ref ulong acc3, ref ulong acc4, ref byte source, nuint stripes)
    {
        ulong a1 = acc1, a2 = acc2, a3 = acc3, a4 = acc4;
        ref byte p = ref source;
        for (nuint i = 0; i < stripes; i++)
        {
            a1 = Round(a1, ReadLE64(ref p, 0));
            a2 = Round(a2, ReadLE64(ref p, 8));
            a3 = Round(a3, ReadLE64(ref p, 16));
            a4 = Round(a4, ReadLE64(ref p, 24));
            p = ref Unsafe.Add(ref p, StripeSize);
        }

        acc1 = a1;
        acc2 = a2;
        acc3 = a3;
        acc4 = a4;
    }

    private static ulong MergeAccumulators(ulong a1, ulong a2, ulong a3, ulong a4)
    {
        ulong acc = BitOperations.RotateLeft(a1, 1) + BitOperations.RotateLeft(a2, 7)
                  + BitOperations.RotateLeft(a3, 12) + BitOperations.RotateLeft(a4, 18);
        acc = MergeRound(acc, a1);
        acc = MergeRound(acc, a2);
        acc = MergeRound(acc, a3);
        acc = MergeRound(acc, a4);
        return acc;
    }

    // Consumes the sub-stripe tail (< 32 bytes) and avalanches; shared by the one-shot and streaming paths so
    // both are guaranteed to agree on the finishing rules.
    private static ulong Finish(ulong acc, ref byte p, nuint remaining)
    {
        while (remaining >= 8)
        {
            acc ^= Round(0, ReadLE64(ref p, 0));
            acc = BitOperations.RotateLeft(acc, 27) * Prime1 + Prime4;
            p = ref Unsafe.Add(ref p, 8);
            remaining -= 8;
        }

        if (remaining >= 4)
        {
            acc ^= ReadLE32(ref p) * Prime1;
            acc = BitOperations.RotateLeft(acc, 23) * Prime2 + Prime3;
            p = ref Unsafe.Add(ref p, 4);
            remaining -= 4;
        }

        for (nuint i = 0; i < remaining; i++)
        {
            acc ^= Unsafe.Add(ref p, i) * Prime5;
            acc = BitOperations.RotateLeft(acc, 11) * Prime1;
        }

        acc ^= acc >> 33;
        acc *= Prime2;
        acc ^= acc >> 29;
        acc *= Prime3;
        acc ^= acc >> 32;
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Round(ulong acc, ulong lane)
    {
        acc += lane * Prime2;
        acc = BitOperations.RotateLeft(acc, 31);
        return acc * Prime1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MergeRound(ulong acc, ulong accN)
    {
        acc ^= Round(0, accN);
        return acc * Prime1 + Prime4;
    }

    // The spec defines lanes as little-endian; IsLittleEndian is a JIT-time constant, so the swap costs nothing on x64/arm64.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadLE64(ref byte p, nint offset)
    {
        ulong v = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, offset));
        return BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadLE32(ref byte p)
    {
        uint v = Unsafe.ReadUnaligned<uint>(ref p);
        return BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
    }

    [InlineArray(StripeSize)]
    private struct StripeBuffer
    {
        private byte _element0;
    }
}
