// Seeded mutation fuzzing of GGUF headers: each mutant either loads (and then every tensor's bytes can be read)
// or is rejected with GgufFormatException. Anything else fails with the seed and iteration, so it can be replayed.
using System.Buffers.Binary;
using System.Diagnostics;
using LlamaAot.Gguf;
using LlamaAot.Kernels.Quants;
using Xunit;
using Xunit.Abstractions;

namespace LlamaAot.Tests.Gguf;

public class GgufFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20240611;

    /// <summary>Offset and width of one numeric header field (count, length, type tag, dim, offset).</summary>
    private readonly record struct Field(int At, int Size);

    /// <summary>Walks a trusted file's header with the test's own decoder and lists every numeric field, so mutations
    /// can hit the lengths and counts that matter instead of mostly landing in token text.</summary>
    private static (List<Field> Fields, int HeaderEnd) HeaderFields(byte[] b)
    {
        var fields = new List<Field> { new(4, 4), new(8, 8), new(16, 8) };
        int p = 24;
        ulong U64() { ulong v = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(p)); fields.Add(new(p, 8)); p += 8; return v; }
        uint U32() { uint v = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(p)); fields.Add(new(p, 4)); p += 4; return v; }
        void Str()
        {
            int length = (int)U64();   // not `p += (int)U64()`: that would read p before U64 advances it
            p += length;
        }
        void Value(uint type)
        {
            switch (type)
            {
                case 8: Str(); break;
                case 9:
                    uint elem = U32();
                    ulong n = U64();
                    for (ulong i = 0; i < n; i++) Value(elem);
                    break;
                default: p += GgufValueTypes.ScalarSize((GgufValueType)type); break;
            }
        }
        ulong nTensors = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8));
        ulong nKv = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(16));
        for (ulong i = 0; i < nKv; i++)
        {
            Str();
            Value(U32());
        }
        for (ulong i = 0; i < nTensors; i++)
        {
            Str();
            uint nDims = U32();
            for (uint d = 0; d < nDims; d++) U64();
            U32();
            U64();
        }
        return (fields, p);
    }

    private static readonly ulong[] Interesting64 =
    [
        0, 1, 2, 7, 8, 31, 32, 33, 255, 256, 4095, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1UL << 32, 1UL << 40,
        1UL << 61, 1UL << 62, 0x7FFF_FFFF_FFFF_FFFF, 1UL << 63, ulong.MaxValue - 31, ulong.MaxValue - 1, ulong.MaxValue,
    ];

    private static readonly uint[] Interesting32 =
    [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 23, 30, 31, 34, 39, 40, 1000, 0x7FFF_FFFF, 0x8000_0000, uint.MaxValue,
    ];

    /// <summary>Applies 1–3 random mutations to the first <paramref name="headerLength"/> bytes; the rest is kept.
    /// Returns <paramref name="scratch"/> or, when bytes were inserted or deleted, a new array.</summary>
    private static byte[] Mutate(byte[] original, byte[] scratch, int headerLength, List<Field> fields, Random rng)
    {
        // Same-size mutants reuse one buffer: a fresh 380 KB array per iteration is a large-object allocation,
        // and the gen-2 collections those trigger would cost more than the parsing.
        original.CopyTo(scratch, 0);
        byte[] image = scratch;
        int header = headerLength;
        int mutations = rng.Next(1, 4);
        for (int m = 0; m < mutations; m++)
        {
            int pos = rng.Next(header);
            switch (rng.Next(9))
            {
                case 0: image[pos] ^= (byte)(1 << rng.Next(8)); break;
                case 1: image[pos] = 0x00; break;
                case 2: image[pos] = 0xFF; break;
                case 3: image[pos] = (byte)rng.Next(256); break;
                case 4:
                {
                    // Insert 1..16 bytes inside the header: everything after it, data included, shifts.
                    int n = rng.Next(1, 17);
                    var grown = new byte[image.Length + n];
                    image.AsSpan(0, pos).CopyTo(grown);
                    rng.NextBytes(grown.AsSpan(pos, n));
                    image.AsSpan(pos).CopyTo(grown.AsSpan(pos + n));
                    image = grown;
                    header += n;
                    break;
                }
                case 5:
                {
                    int n = Math.Min(rng.Next(1, 17), image.Length - pos);
                    var shrunk = new byte[image.Length - n];
                    image.AsSpan(0, pos).CopyTo(shrunk);
                    image.AsSpan(pos + n).CopyTo(shrunk.AsSpan(pos));
                    image = shrunk;
                    header = Math.Max(1, header - n);
                    break;
                }
                case 6 or 7:
                {
                    // A known numeric field (only meaningful while nothing before it has shifted, but harmless after).
                    var f = fields[rng.Next(fields.Count)];
                    if (f.At + f.Size > image.Length) break;
                    if (f.Size == 8)
                    {
                        ulong v = rng.Next(4) switch
                        {
                            0 => (ulong)rng.NextInt64(),
                            1 => BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(f.At)) + (ulong)rng.Next(-2, 3),
                            _ => Interesting64[rng.Next(Interesting64.Length)],
                        };
                        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(f.At), v);
                    }
                    else
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(f.At), Interesting32[rng.Next(Interesting32.Length)]);
                    }
                    break;
                }
                default:
                {
                    // A huge u64 at an arbitrary header position.
                    if (pos + 8 > image.Length) break;
                    BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(pos), Interesting64[rng.Next(Interesting64.Length - 8, Interesting64.Length)]);
                    break;
                }
            }
        }
        return image;
    }

    /// <summary>Parses a mutant; returns true if it loaded. Fails the test for anything but GgufFormatException.</summary>
    private static bool Check(byte[] image, string context)
    {
        try
        {
            using var f = GgufFile.FromBytes(image, "fuzz.gguf");
            long acc = 0;
            foreach (var t in f.Tensors)
            {
                if (f.DataOffset + (long)t.Offset + t.ByteSize > f.FileLength) Assert.Fail($"{context}: tensor '{t.Name}' accepted past the end of the file");
                acc += f.GetData(t).Count((byte)0x5A);   // touches every byte of the span
            }
            foreach (var (key, value) in f.Metadata.Entries) acc += key.Length + value.ToString().Length;
            GC.KeepAlive(acc);
            return true;
        }
        catch (GgufFormatException e)
        {
            Assert.True(e.Offset >= 0 && e.Offset <= image.Length, $"{context}: error offset {e.Offset} outside the {image.Length}-byte image ({e.Message})");
            return false;
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            Assert.Fail($"{context}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            return false;
        }
    }

    private static (int Iterations, int Loaded) Run(byte[] original, int headerLength, int seed, int maxIterations, TimeSpan cap)
    {
        var (fields, headerEnd) = HeaderFields(original);
        using (var f = GgufFile.FromBytes(original))
        {
            // The walker must agree with the reader, or the targeted mutations would aim at the wrong bytes.
            Assert.Equal(f.DataOffset, GgufFile.AlignUp(headerEnd, f.Alignment));
        }
        var rng = new Random(seed);
        byte[] scratch = new byte[original.Length];
        var clock = Stopwatch.StartNew();
        int i = 0, loaded = 0;
        for (; i < maxIterations && clock.Elapsed < cap; i++)
        {
            byte[] mutant = Mutate(original, scratch, headerLength, fields, rng);
            if (Check(mutant, $"seed {seed}, iteration {i}")) loaded++;
        }
        return (i, loaded);
    }

    [Fact]
    public void MutatedHeadersOfARealModelLoadOrFailCleanly()
    {
        byte[] original = File.ReadAllBytes(TestPaths.Model("stories260K-Q8_0.gguf"));
        int header;
        using (var f = GgufFile.FromBytes(original)) header = (int)f.DataOffset;
        Assert.True(Check(original, "unmutated"));

        var (iterations, loaded) = Run(original, header, Seed, maxIterations: 5000, cap: TimeSpan.FromSeconds(6));
        output.WriteLine($"{iterations} mutants, {loaded} loaded, {iterations - loaded} rejected");
        Assert.True(iterations >= 1000, $"only {iterations} fuzz iterations ran within the time cap");
        // Both outcomes must occur, or the mutator is degenerate (everything valid, or everything broken early).
        Assert.InRange(loaded, 1, iterations - 1);
    }

    [Fact]
    public void MutatedHandMadeFileWithEveryValueKindLoadsOrFailsCleanly()
    {
        // Small enough to mutate anywhere: nested arrays, every scalar type, strings, several tensor types.
        var w = new GgufWriter();
        w.Metadata.Set("u8", new GgufValue(GgufValueType.UInt8, (byte)1));
        w.Metadata.Set("i16", new GgufValue(GgufValueType.Int16, (short)-2));
        w.Metadata.Set("u64", GgufValue.Of(3UL));
        w.Metadata.Set("f64", new GgufValue(GgufValueType.Float64, 4.5));
        w.Metadata.Set("b", GgufValue.Of(true));
        w.Metadata.Set("s", GgufValue.Of("text"));
        w.Metadata.Set("bools", GgufValue.Of(new GgufArray(GgufValueType.Bool, new[] { true, false })));
        w.Metadata.Set("strs", GgufValue.Of(new GgufArray(GgufValueType.String, new[] { "a", "bb", "" })));
        w.Metadata.Set("nest", GgufValue.Of(new GgufArray(GgufValueType.Array, new[]
        {
            new GgufArray(GgufValueType.Int32, new[] { 1, 2 }),
            new GgufArray(GgufValueType.Array, new[] { new GgufArray(GgufValueType.Float32, new[] { 1f }) }),
        })));
        w.Metadata.Set(GgufFile.AlignmentKey, GgufValue.Of(16u));
        w.AddTensor("a", GgmlType.F32, [5], GgufBuilder.Pattern(20));
        w.AddTensor("b", GgmlType.Q4_0, [64, 2], GgufBuilder.Pattern(72, 1));
        w.AddTensor("c", GgmlType.F16, [3, 1, 2], GgufBuilder.Pattern(12, 2));
        var ms = new MemoryStream();
        w.WriteTo(ms);
        byte[] original = ms.ToArray();
        Assert.True(Check(original, "unmutated"));

        var (iterations, loaded) = Run(original, original.Length, Seed + 1, maxIterations: 5000, cap: TimeSpan.FromSeconds(4));
        output.WriteLine($"{iterations} mutants, {loaded} loaded, {iterations - loaded} rejected");
        Assert.True(iterations >= 1000, $"only {iterations} fuzz iterations ran within the time cap");
        Assert.InRange(loaded, 1, iterations - 1);
    }
}
