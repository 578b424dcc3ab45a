using System.Text;
using LlamaAot.Hashing;
using Xunit;

namespace LlamaAot.Tests.Hashing;

public class XxHash64Tests
{
    // Constants of xxHash's sanity-buffer generator (cli/xsum_sanity_check.c), not of the hash itself.
    private const ulong GenPrime32 = 2654435761UL;
    private const ulong GenPrime64 = 11400714785074694797UL;
    private const long SeedPrime32 = 2654435761L;

    private const int SanityBufferLength = 4160;
    private static readonly byte[] SanityBuffer = CreateSanityBuffer(SanityBufferLength);

    // Re-creates xxHash's XSUM_fillTestBuffer: the published expected values are digests of prefixes of this stream.
    private static byte[] CreateSanityBuffer(int length)
    {
        var buffer = new byte[length];
        ulong byteGen = GenPrime32;
        for (int i = 0; i < length; i++)
        {
            buffer[i] = (byte)(byteGen >> 56);
            byteGen = unchecked(byteGen * GenPrime64);
        }

        return buffer;
    }

    // The rows marked "canonical" are XSUM_XXH64_testdata in Cyan4973/xxHash cli/xsum_sanity_check.c.
    // The other rows are from xxHash's generated tests/sanity_test_vectors.h, as quoted by independent
    // third-party test suites (each value was found in at least one, mostly two or more, of them).
    // Lengths straddle every branch: empty, < 4, 4..7, 8-byte lanes, just under/at/over one 32-byte stripe,
    // multi-stripe with each kind of tail, and a few kilobytes.
    public static TheoryData<int, long, ulong> ReferenceVectors => new()
    {
        { 0, 0, 0xEF46DB3751D8E999UL },             // canonical
        { 0, SeedPrime32, 0xAC75FDA2929B17EFUL },   // canonical
        { 1, 0, 0xE934A84ADB052768UL },             // canonical
        { 1, SeedPrime32, 0x5014607643A9B4C3UL },   // canonical
        { 3, 0, 0xFF7E1959CB50794AUL },
        { 3, SeedPrime32, 0xAA8584E83660F7D1UL },
        { 4, 0, 0x9136A0DCA57457EEUL },             // canonical
        { 4, SeedPrime32, 0xCAAB286BD8E9FDB5UL },
        { 8, 0, 0xCDBCF538E71D1348UL },
        { 8, SeedPrime32, 0xFE0C047A5353CDACUL },
        { 14, 0, 0x8282DCC4994E35C8UL },            // canonical
        { 14, SeedPrime32, 0xC3BD6BF63DEB6DF0UL },  // canonical
        { 16, 0, 0x98C90B57FDFCB55CUL },
        { 16, SeedPrime32, 0xC900AD2D536B607EUL },
        { 17, 0, 0x0D39A2D051A30C2CUL },
        { 17, SeedPrime32, 0x495CD68A647C7A22UL },
        { 31, 0, 0x299B39A290E6D783UL },
        { 31, SeedPrime32, 0xDA673D5FEB5C1D79UL },
        { 32, 0, 0x18B216492BB44B70UL },
        { 32, SeedPrime32, 0xB3F33BDF93ADE409UL },
        { 33, 0, 0x55C8DC3E578F5B59UL },
        { 33, SeedPrime32, 0xE92C292F64BC3071UL },
        { 64, 0, 0xEF558F8ACAC2B5CDUL },
        { 100, 0, 0x4BFE019CD91D9EA4UL },
        { 100, SeedPrime32, 0x4853706DC9625CAEUL },
        { 222, 0, 0xB641AE8CB691C174UL },           // canonical
        { 222, SeedPrime32, 0x20CB8AB7AE10C14AUL }, // canonical
        { 240, 0, 0xB81838D483BAEE53UL },
        { 241, 0, 0x95D76C8B4D8FC4D6UL },
        { 512, 0, 0x4358D2FDD62B58A7UL },
        { 2367, 0, 0xA82418DDEC0EA581UL },
        { 2367, SeedPrime32, 0xA36A93C18052673AUL },
        { 4160, 0, 0xEEE6A4E2AC952A5EUL },
        { 4160, SeedPrime32, 0xA4CB59E19D6A35F9UL },
    };

    [Theory]
    [MemberData(nameof(ReferenceVectors))]
    public void OneShot_MatchesReferenceVector(int length, long seed, ulong expected)
    {
        Assert.Equal(expected, XxHash64.HashToUInt64(SanityBuffer.AsSpan(0, length), seed));
    }

    [Theory]
    [MemberData(nameof(ReferenceVectors))]
    public void Streaming_SingleAppend_MatchesReferenceVector(int length, long seed, ulong expected)
    {
        var hasher = new XxHash64(seed);
        hasher.Append(SanityBuffer.AsSpan(0, length));
        Assert.Equal(expected, hasher.GetCurrentHashAsUInt64());
    }

    [Theory]
    [MemberData(nameof(ReferenceVectors))]
    public void Streaming_ByteByByte_MatchesReferenceVector(int length, long seed, ulong expected)
    {
        var hasher = new XxHash64(seed);
        for (int i = 0; i < length; i++)
        {
            hasher.Append(SanityBuffer.AsSpan(i, 1));
        }

        Assert.Equal(expected, hasher.GetCurrentHashAsUInt64());
    }

    [Theory]
    [MemberData(nameof(ReferenceVectors))]
    public void Streaming_RandomChunks_MatchesReferenceVector(int length, long seed, ulong expected)
    {
        var rng = new Random(length * 31 + (int)(seed & 0xFFFF));
        for (int trial = 0; trial < 8; trial++)
        {
            var hasher = new XxHash64(seed);
            AppendInRandomChunks(hasher, SanityBuffer.AsSpan(0, length), rng, maxChunk: 70);
            Assert.Equal(expected, hasher.GetCurrentHashAsUInt64());
        }
    }

    [Theory]
    [MemberData(nameof(ReferenceVectors))]
    public void Hash_ReturnsBigEndianBytesOfReferenceVector(int length, long seed, ulong expected)
    {
        byte[] bytes = XxHash64.Hash(SanityBuffer.AsSpan(0, length), seed);
        Assert.Equal(ToBigEndian(expected), bytes);
    }

    [Fact]
    public void EmptyInput_DefaultSeed_IsWellKnownValue()
    {
        Assert.Equal(0xEF46DB3751D8E999UL, XxHash64.HashToUInt64(ReadOnlySpan<byte>.Empty));
        Assert.Equal(0xEF46DB3751D8E999UL, new XxHash64().GetCurrentHashAsUInt64());
    }

    // Widely published ASCII vectors, independent of the sanity-buffer generator.
    [Theory]
    [InlineData("", 0xEF46DB3751D8E999UL)]
    [InlineData("a", 0xD24EC4F1A98C6E5BUL)]
    [InlineData("abc", 0x44BC2CF5AD770999UL)]
    public void AsciiStrings_MatchPublishedValues(string text, ulong expected)
    {
        Assert.Equal(expected, XxHash64.HashToUInt64(Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void GetCurrentHash_IsBigEndianOfUInt64()
    {
        var hasher = new XxHash64();
        Assert.Equal(new byte[] { 0xEF, 0x46, 0xDB, 0x37, 0x51, 0xD8, 0xE9, 0x99 }, hasher.GetCurrentHash());

        hasher.Append(SanityBuffer.AsSpan(0, 222));
        Assert.Equal(new byte[] { 0xB6, 0x41, 0xAE, 0x8C, 0xB6, 0x91, 0xC1, 0x74 }, hasher.GetCurrentHash());
        Assert.Equal(ToBigEndian(hasher.GetCurrentHashAsUInt64()), hasher.GetCurrentHash());
    }

    [Fact]
    public void Hash_ReturnsFreshArrayOfEightBytes()
    {
        byte[] first = XxHash64.Hash(SanityBuffer.AsSpan(0, 14));
        byte[] second = XxHash64.Hash(SanityBuffer.AsSpan(0, 14));
        Assert.Equal(8, first.Length);
        Assert.NotSame(first, second);
        Assert.Equal(new byte[] { 0x82, 0x82, 0xDC, 0xC4, 0x99, 0x4E, 0x35, 0xC8 }, first);
    }

    [Fact]
    public void Reset_DiscardsAppendedDataAndKeepsSeed()
    {
        var hasher = new XxHash64(SeedPrime32);
        hasher.Append(SanityBuffer.AsSpan(0, 1000));
        hasher.Append(SanityBuffer.AsSpan(5, 13)); // leave a partial stripe pending
        hasher.Reset();
        Assert.Equal(0xAC75FDA2929B17EFUL, hasher.GetCurrentHashAsUInt64());

        hasher.Append(SanityBuffer.AsSpan(0, 222));
        Assert.Equal(0x20CB8AB7AE10C14AUL, hasher.GetCurrentHashAsUInt64());

        hasher.Reset();
        hasher.Append(SanityBuffer.AsSpan(0, 14));
        Assert.Equal(0xC3BD6BF63DEB6DF0UL, hasher.GetCurrentHashAsUInt64());
    }

    [Fact]
    public void GetCurrentHash_DoesNotDisturbRunningState()
    {
        var hasher = new XxHash64();
        hasher.Append(SanityBuffer.AsSpan(0, 17));
        Assert.Equal(0x0D39A2D051A30C2CUL, hasher.GetCurrentHashAsUInt64());
        Assert.Equal(0x0D39A2D051A30C2CUL, hasher.GetCurrentHashAsUInt64());

        hasher.Append(SanityBuffer.AsSpan(17, 16));
        Assert.Equal(0x55C8DC3E578F5B59UL, hasher.GetCurrentHashAsUInt64());
        _ = hasher.GetCurrentHash();

        hasher.Append(SanityBuffer.AsSpan(33, 222 - 33));
        Assert.Equal(0xB641AE8CB691C174UL, hasher.GetCurrentHashAsUInt64());
    }

    [Fact]
    public void Streaming_EmptyAppends_AreNoOps()
    {
        var hasher = new XxHash64();
        hasher.Append(ReadOnlySpan<byte>.Empty);
        hasher.Append(SanityBuffer.AsSpan(0, 20));
        hasher.Append(ReadOnlySpan<byte>.Empty);
        hasher.Append(SanityBuffer.AsSpan(20, 80));
        hasher.Append(ReadOnlySpan<byte>.Empty);
        Assert.Equal(0x4BFE019CD91D9EA4UL, hasher.GetCurrentHashAsUInt64());
    }

    // Beyond the published lengths: any split of any input must agree with the one-shot path, including
    // splits that land exactly on, just before and just after 32-byte stripe boundaries.
    [Theory]
    [InlineData(1, 0L)]
    [InlineData(2, -1L)]
    [InlineData(3, long.MinValue)]
    [InlineData(4, 0x0123456789ABCDEFL)]
    public void Streaming_RandomSplitsOfRandomData_MatchOneShot(int rngSeed, long seed)
    {
        var rng = new Random(rngSeed);
        var data = new byte[100_003];
        rng.NextBytes(data);
        ulong expected = XxHash64.HashToUInt64(data, seed);

        foreach (int maxChunk in new[] { 1, 7, 33, 64, 257, 5000 })
        {
            var hasher = new XxHash64(seed);
            AppendInRandomChunks(hasher, data, rng, maxChunk);
            Assert.Equal(expected, hasher.GetCurrentHashAsUInt64());
        }

        var fixedSplits = new XxHash64(seed);
        fixedSplits.Append(data.AsSpan(0, 31));
        fixedSplits.Append(data.AsSpan(31, 1));
        fixedSplits.Append(data.AsSpan(32, 33));
        fixedSplits.Append(data.AsSpan(65, 63));
        fixedSplits.Append(data.AsSpan(128));
        Assert.Equal(expected, fixedSplits.GetCurrentHashAsUInt64());
    }

    [Fact]
    public void Seed_ChangesResultAndMatchesBetweenApis()
    {
        ReadOnlySpan<byte> input = SanityBuffer.AsSpan(0, 1000);
        ulong unseeded = XxHash64.HashToUInt64(input);
        ulong seeded = XxHash64.HashToUInt64(input, -42);
        Assert.NotEqual(unseeded, seeded);
        Assert.Equal(unseeded, XxHash64.HashToUInt64(input, 0));

        var hasher = new XxHash64(-42);
        hasher.Append(input);
        Assert.Equal(seeded, hasher.GetCurrentHashAsUInt64());
    }

    // Lane reads are unaligned loads; a misaligned start must not change the digest.
    [Fact]
    public void UnalignedInput_GivesSameResult()
    {
        var backing = new byte[2367 + 16];
        for (int offset = 0; offset < 16; offset++)
        {
            Array.Clear(backing);
            SanityBuffer.AsSpan(0, 2367).CopyTo(backing.AsSpan(offset));
            Assert.Equal(0xA82418DDEC0EA581UL, XxHash64.HashToUInt64(backing.AsSpan(offset, 2367)));
        }
    }

    private static void AppendInRandomChunks(XxHash64 hasher, ReadOnlySpan<byte> data, Random rng, int maxChunk)
    {
        int position = 0;
        while (position < data.Length)
        {
            // Zero-length chunks are deliberate: Append must accept them mid-stream.
            int chunk = Math.Min(rng.Next(0, maxChunk + 1), data.Length - position);
            hasher.Append(data.Slice(position, chunk));
            position += chunk;
        }
    }

    private static byte[] ToBigEndian(ulong value)
    {
        var bytes = new byte[8];
        for (int i = 0; i < 8; i++)
        {
            bytes[i] = (byte)(value >> (56 - 8 * i));
        }

        return bytes;
    }
}
