// Hostile GGUF images: every one must be rejected with exactly GgufFormatException, naming the problem and pointing
// at the offending field — never IndexOutOfRange, AccessViolation, OutOfMemory, a hang or a crash.
using LlamaAot.Gguf;
using LlamaAot.Kernels.Quants;
using Xunit;

namespace LlamaAot.Tests.Gguf;

public class GgufHostileTests
{
    private const string Name = "hostile.gguf";
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(20);

    /// <summary>Parses on a worker so a hang fails the test instead of stalling the run; returns what was thrown.</summary>
    internal static Exception? ParseOutcome(byte[] image, string name = Name)
    {
        var task = Task.Run(() =>
        {
            using var f = GgufFile.FromBytes(image, name);
            foreach (var t in f.Tensors) _ = f.GetData(t).IndexOf((byte)0xA5);   // every tensor span is readable
        });
        try
        {
            Assert.True(task.Wait(HangLimit), $"parsing a {image.Length}-byte image did not finish within {HangLimit}");
            return null;
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            return e.InnerException;
        }
    }

    /// <summary>Asserts rejection with exactly GgufFormatException whose problem contains <paramref name="problem"/>,
    /// at <paramref name="offset"/> when given (always inside the image).</summary>
    internal static GgufFormatException Rejects(byte[] image, string problem, long? offset = null)
    {
        var thrown = ParseOutcome(image);
        Assert.True(thrown is not null, $"image was accepted; expected rejection for \"{problem}\"");
        var e = Assert.IsType<GgufFormatException>(thrown);
        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
        Assert.Equal(Name, e.File);
        Assert.Contains(Name, e.Message, StringComparison.Ordinal);
        Assert.Contains(e.Problem, e.Message, StringComparison.Ordinal);
        Assert.InRange(e.Offset, 0, image.Length);
        if (offset is { } at) Assert.True(at == e.Offset, $"error offset {e.Offset}, expected {at}: {e.Message}");
        return e;
    }

    private static GgufBuilder OneTensorHeader(ulong[] dims, uint type = (uint)GgmlType.F32, ulong offset = 0) =>
        new GgufBuilder().Header(tensorCount: 1, kvCount: 0).TensorInfo("t", dims, type, offset);

    [Fact]
    public void ValidBaselineImagesLoad()
    {
        // The hostile images below are one change away from these.
        Assert.Null(ParseOutcome(GgufBuilder.SingleTensor().ToArray()));
        Assert.Null(ParseOutcome(OneTensorHeader([32]).Data(new byte[128]).ToArray()));
        Assert.Null(ParseOutcome(GgufBuilder.MetadataOnly(1).KvU32("k", 1).ToArray()));
        Assert.Null(ParseOutcome(GgufBuilder.MetadataOnly(0).ToArray()));
    }

    // ---- header ----

    [Theory]
    [InlineData(0x58554747u)]   // "GGUX"
    [InlineData(0x4C4D4747u)]   // "GGML"
    [InlineData(0x746A6767u)]   // "ggjt"
    [InlineData(0x47475546u)]   // "GGUF" byte-swapped
    [InlineData(0u)]
    public void BadMagic(uint magic)
    {
        Rejects(new GgufBuilder().Header(0, 0, magic: magic).ToArray(), "bad magic", 0);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(4u)]
    [InlineData(0xFFFFu)]
    [InlineData(0xFFFF_FFFFu)]
    public void UnsupportedVersion(uint version)
    {
        var e = Rejects(new GgufBuilder().Header(0, 0, version: version).ToArray(), "unsupported GGUF version", 4);
        Assert.Contains(version.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void BigEndianFile()
    {
        // A big-endian v3 header: every field byte-swapped.
        var image = new GgufBuilder().U32(GgufBuilder.MagicValue).Bytes([0, 0, 0, 3])
            .Bytes([0, 0, 0, 0, 0, 0, 0, 1]).Bytes([0, 0, 0, 0, 0, 0, 0, 0]).Zeros(64).ToArray();
        Rejects(image, "big-endian", 4);
    }

    [Theory]
    [InlineData(1UL << 62)]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 32)]
    [InlineData(1000UL)]   // small, but more than 100 bytes can hold
    public void AbsurdTensorCount(ulong count)
    {
        Rejects(new GgufBuilder().Header(count, 0).Zeros(76).ToArray(), "tensor count", 8);
    }

    [Theory]
    [InlineData(1UL << 62)]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 32)]
    [InlineData(1000UL)]
    public void AbsurdMetadataCount(ulong count)
    {
        Rejects(new GgufBuilder().Header(0, count).Zeros(76).ToArray(), "metadata count", 16);
    }

    // ---- lengths past the end of the file ----

    [Theory]
    [InlineData(1000UL)]
    [InlineData(9UL)]   // one byte more than there is
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue)]
    [InlineData(ulong.MaxValue - 7)]
    public void KeyLengthPastEnd(ulong length)
    {
        var image = GgufBuilder.MetadataOnly(1).StrRaw(length, "abcdefgh"u8).ToArray();
        Rejects(image, "metadata key length", 24);
    }

    [Theory]
    [InlineData(100UL)]
    [InlineData(1UL << 63)]
    [InlineData(ulong.MaxValue)]
    public void StringValueLengthPastEnd(ulong length)
    {
        var b = GgufBuilder.MetadataOnly(1).Key("k", GgufValueType.String).Mark("len").StrRaw(length, "xyz"u8);
        Rejects(b.ToArray(), "value of 'k' length", b["len"]);
    }

    [Theory]
    [InlineData(GgufValueType.UInt8, 100UL)]
    [InlineData(GgufValueType.UInt8, 1UL << 63)]
    [InlineData(GgufValueType.UInt64, ulong.MaxValue)]
    [InlineData(GgufValueType.String, 1UL << 61)]
    [InlineData(GgufValueType.Array, ulong.MaxValue / 12)]
    [InlineData(GgufValueType.Bool, 5UL)]
    [InlineData(GgufValueType.UInt32, 0x8000_0000UL)]   // would not fit an int even if the file were big enough
    public void ArrayLengthPastEnd(GgufValueType element, ulong count)
    {
        var b = GgufBuilder.MetadataOnly(1).Key("a", GgufValueType.Array).U32((uint)element).Mark("count").U64(count).Zeros(4);
        Rejects(b.ToArray(), "array length", b["count"]);
    }

    [Fact]
    public void StringElementLengthPastEnd()
    {
        var b = GgufBuilder.MetadataOnly(1).Key("a", GgufValueType.Array).ArrayHeader(GgufValueType.String, 2)
            .Str("ok").Mark("len").StrRaw(1UL << 40, "short"u8);
        Rejects(b.ToArray(), "element of 'a' length", b["len"]);
    }

    [Theory]
    [InlineData(50UL)]
    [InlineData(ulong.MaxValue)]
    public void TensorNameLengthPastEnd(ulong length)
    {
        var image = new GgufBuilder().Header(1, 0).StrRaw(length, "t"u8).Zeros(31).ToArray();
        Rejects(image, "tensor name length", 24);
    }

    // ---- unknown types ----

    [Theory]
    [InlineData(13u)]
    [InlineData(100u)]
    [InlineData(0xFFFF_FFFFu)]
    public void UnknownValueType(uint type)
    {
        var b = GgufBuilder.MetadataOnly(1).Mark("kv").Str("k").Mark("type").U32(type).Zeros(16);
        Rejects(b.ToArray(), $"unknown value type {type}", b["type"]);
    }

    [Theory]
    [InlineData(13u)]
    [InlineData(0xFFFF_FFFFu)]
    public void UnknownArrayElementType(uint type)
    {
        var b = GgufBuilder.MetadataOnly(1).Key("a", GgufValueType.Array).Mark("elem").ArrayHeader(type, 1).Zeros(16);
        Rejects(b.ToArray(), $"unknown array element type {type}", b["elem"]);
    }

    [Fact]
    public void UnknownElementTypeInsideNestedArray()
    {
        var b = GgufBuilder.MetadataOnly(1).Key("a", GgufValueType.Array).ArrayHeader(GgufValueType.Array, 2)
            .ArrayHeader(GgufValueType.UInt8, 1).U8(7)
            .Mark("elem").ArrayHeader(20u, 1).Zeros(8);
        Rejects(b.ToArray(), "unknown array element type 20", b["elem"]);
    }

    // ---- tensor infos ----

    [Theory]
    [InlineData(0u)]
    [InlineData(5u)]
    [InlineData(7u)]
    [InlineData(0xFFFF_FFFFu)]
    public void BadDimensionCount(uint nDims)
    {
        var b = new GgufBuilder().Header(1, 0).Str("t").Mark("ndims").U32(nDims);
        for (int i = 0; i < 8; i++) b.U64(32);
        b.U32(0).U64(0).Data(new byte[1024]);
        Rejects(b.ToArray(), $"n_dims {nDims}", b["ndims"]);
    }

    [Theory]
    [InlineData(new ulong[] { 0 }, 0)]
    [InlineData(new ulong[] { 32, 0 }, 1)]
    [InlineData(new ulong[] { 32, 2, 1, 0 }, 3)]
    public void ZeroDimension(ulong[] dims, int zeroAt)
    {
        var b = OneTensorHeader(dims).Data(new byte[256]);
        long dimPos = b["tensor:t"] + 8 + 1 + 4 + (8 * zeroAt);
        Rejects(b.ToArray(), $"dimension {zeroAt} of size 0", dimPos);
    }

    [Theory]
    [InlineData(new ulong[] { 1UL << 32, 1UL << 32 }, 1)]
    [InlineData(new ulong[] { 1UL << 63 }, 0)]
    [InlineData(new ulong[] { ulong.MaxValue }, 0)]
    [InlineData(new ulong[] { 32, 1UL << 40, 1UL << 30 }, 2)]
    [InlineData(new ulong[] { 3, 3, 1UL << 61, 2 }, 2)]
    public void ElementCountOverflow(ulong[] dims, int overflowAt)
    {
        var b = OneTensorHeader(dims).Data(new byte[256]);
        long dimPos = b["tensor:t"] + 8 + 1 + 4 + (8 * overflowAt);
        Rejects(b.ToArray(), "element count overflows", dimPos);
    }

    [Theory]
    [InlineData(GgmlType.F32, 1UL << 62)]        // 2^62 elements fit a long; 2^64 bytes do not
    [InlineData(GgmlType.F64, 1UL << 61)]
    [InlineData(GgmlType.Q8_K, 0x7FFF_FFFF_FFFF_FF00UL)]   // 2^55 - 1 blocks of 292 bytes
    public void ByteSizeOverflow(GgmlType type, ulong rowLength)
    {
        var b = OneTensorHeader([rowLength], (uint)type).Data(new byte[256]);
        Rejects(b.ToArray(), "byte size overflows", b["tensor:t"] + 8 + 1);
    }

    [Theory]
    [InlineData(4u)]
    [InlineData(5u)]
    [InlineData(31u)]
    [InlineData(33u)]
    [InlineData(36u)]
    [InlineData(40u)]
    [InlineData(1000u)]
    [InlineData(0xFFFF_FFFFu)]
    public void UnknownTensorType(uint type)
    {
        var b = OneTensorHeader([256], type).Data(new byte[4096]);
        long typePos = b["tensor:t"] + 8 + 1 + 4 + 8;
        Rejects(b.ToArray(), $"unknown ggml type id {type}", typePos);
    }

    [Theory]
    [InlineData(GgmlType.Q8_0, 33UL, "Q8_0 block size 32")]
    [InlineData(GgmlType.Q4_0, 16UL, "Q4_0 block size 32")]
    [InlineData(GgmlType.Q4_K, 32UL, "Q4_K block size 256")]
    [InlineData(GgmlType.IQ4_XS, 300UL, "IQ4_XS block size 256")]
    public void RowLengthNotAMultipleOfBlockSize(GgmlType type, ulong rowLength, string problem)
    {
        var b = OneTensorHeader([rowLength, 2], (uint)type).Data(new byte[4096]);
        var e = Rejects(b.ToArray(), problem, b["tensor:t"] + 8 + 1);
        Assert.Contains($"row length {rowLength}", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateTensorNames()
    {
        var b = new GgufBuilder().Header(2, 0)
            .TensorInfo("t", [32], GgmlType.F32, 0)
            .TensorInfo("t", [32], GgmlType.F32, 128)
            .Data(new byte[256]);
        Rejects(b.ToArray(), "duplicate tensor name 't'", b["tensor:t"]);
    }

    // ---- tensor data placement ----

    [Fact]
    public void TensorDataPastEndOfFile()
    {
        var b = OneTensorHeader([32]).Data(new byte[127]);
        Rejects(b.ToArray(), "past the end of the file", b["tensor:t"]);
    }

    [Theory]
    [InlineData(32UL)]
    [InlineData(1UL << 40)]
    [InlineData(ulong.MaxValue - 31)]   // aligned, and offset + size wraps around 2^64
    [InlineData(0x8000_0000_0000_0000UL)]
    public void TensorOffsetPastEndOfFile(ulong offset)
    {
        var b = OneTensorHeader([32], offset: offset).Data(new byte[128]);
        Rejects(b.ToArray(), "past the end of the file", b["tensor:t"]);
    }

    [Fact]
    public void TensorsButNoDataSection()
    {
        var b = OneTensorHeader([1]);   // header ends before its padding; no data at all
        Rejects(b.ToArray(), "past the end of the file", b["tensor:t"]);
    }

    [Theory]
    [InlineData(4UL)]
    [InlineData(31UL)]
    [InlineData(33UL)]
    public void MisalignedTensorOffset(ulong offset)
    {
        var b = OneTensorHeader([32], offset: offset).Data(new byte[256]);
        Rejects(b.ToArray(), $"data offset {offset} is not aligned to 32", b["tensor:t"]);
    }

    [Fact]
    public void MisalignedForCustomAlignment()
    {
        var b = new GgufBuilder().Header(1, 1).KvU32("general.alignment", 64)
            .TensorInfo("t", [8], GgmlType.F32, 32).Data(new byte[128], alignment: 64);
        Rejects(b.ToArray(), "not aligned to 64", b["tensor:t"]);
    }

    [Theory]
    [InlineData(0UL, 0UL)]      // same start
    [InlineData(0UL, 96UL)]     // b starts inside a
    [InlineData(96UL, 0UL)]     // a starts inside b (listed first, stored second)
    public void OverlappingTensorData(ulong offsetA, ulong offsetB)
    {
        var b = new GgufBuilder().Header(2, 0)
            .TensorInfo("a", [32], GgmlType.F32, offsetA)
            .TensorInfo("b", [32], GgmlType.F32, offsetB)
            .Data(new byte[512]);
        var e = Rejects(b.ToArray(), "overlaps");
        Assert.True(e.Offset == b["tensor:a"] || e.Offset == b["tensor:b"], $"offset {e.Offset} is not at either tensor info");
    }

    [Fact]
    public void TensorContainedInAnother()
    {
        var b = new GgufBuilder().Header(3, 0)
            .TensorInfo("big", [64], GgmlType.F32, 0)
            .TensorInfo("after", [8], GgmlType.F32, 256)
            .TensorInfo("inside", [8], GgmlType.F32, 64)
            .Data(new byte[512]);
        Rejects(b.ToArray(), "tensor 'inside' data overlaps tensor 'big'", b["tensor:inside"]);
    }

    [Fact]
    public void AdjacentTensorsDoNotOverlap()
    {
        var b = new GgufBuilder().Header(2, 0)
            .TensorInfo("a", [8], GgmlType.F32, 0)
            .TensorInfo("b", [8], GgmlType.F32, 32)
            .Data(new byte[64]);
        Assert.Null(ParseOutcome(b.ToArray()));
    }

    // ---- metadata ----

    [Fact]
    public void DuplicateKeys()
    {
        var b = GgufBuilder.MetadataOnly(3).KvU32("k", 1).KvU32("other", 2).KvString("k", "again");
        Rejects(b.ToArray(), "duplicate metadata key 'k'", b["kv:k"]);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(96u)]
    [InlineData(0xFFFF_FFFFu)]
    public void AlignmentNotAPowerOfTwo(uint alignment)
    {
        var b = new GgufBuilder().Header(1, 2).KvString("general.name", "x").KvU32("general.alignment", alignment)
            .TensorInfo("t", [8], GgmlType.F32, 0).Data(new byte[64]);
        Rejects(b.ToArray(), $"general.alignment = {alignment} is not a power of two", b["kv:general.alignment"]);
    }

    [Theory]
    [InlineData(GgufValueType.UInt64)]
    [InlineData(GgufValueType.Int32)]
    [InlineData(GgufValueType.UInt16)]
    [InlineData(GgufValueType.String)]
    public void AlignmentOfTheWrongType(GgufValueType type)
    {
        var b = new GgufBuilder().Header(1, 2).KvString("general.name", "x").Key("general.alignment", type);
        switch (type)
        {
            case GgufValueType.UInt64: b.U64(32); break;
            case GgufValueType.Int32: b.I32(32); break;
            case GgufValueType.UInt16: b.U16(32); break;
            default: b.Str("32"); break;
        }
        b.TensorInfo("t", [8], GgmlType.F32, 0).Data(new byte[64]);
        Rejects(b.ToArray(), "general.alignment must be u32", b["kv:general.alignment"]);
    }

    [Fact]
    public void HugeAlignmentLeavesNoRoomForData()
    {
        var b = new GgufBuilder().Header(1, 1).KvU32("general.alignment", 1u << 31)
            .TensorInfo("t", [8], GgmlType.F32, 0).Data(new byte[64]);
        Rejects(b.ToArray(), "past the end of the file", b["tensor:t"]);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0x80)]
    [InlineData(0xFF)]
    public void BoolByteOtherThanZeroOrOne(byte value)
    {
        var b = GgufBuilder.MetadataOnly(1).Key("flag", GgufValueType.Bool).Mark("v").U8(value);
        Rejects(b.ToArray(), $"bool with byte value {value}", b["v"]);

        var arr = GgufBuilder.MetadataOnly(1).Key("flags", GgufValueType.Array).ArrayHeader(GgufValueType.Bool, 3)
            .U8(1).U8(0).Mark("v").U8(value);
        Rejects(arr.ToArray(), $"bool with byte value {value}", arr["v"]);
    }

    private static GgufBuilder NestedArrays(int levels)
    {
        var b = GgufBuilder.MetadataOnly(1).Key("deep", GgufValueType.Array);
        for (int i = 1; i < levels; i++) b.Mark($"level{i}").ArrayHeader(GgufValueType.Array, 1);
        return b.Mark($"level{levels}").ArrayHeader(GgufValueType.UInt8, 1).U8(42);
    }

    [Fact]
    public void EightLevelsOfArraysAreAccepted()
    {
        var image = NestedArrays(8).ToArray();
        using var f = GgufFile.FromBytes(image);
        var a = f.Metadata.GetArray("deep");
        for (int i = 1; i < 8; i++) a = Assert.Single(a.As<GgufArray>());
        Assert.Equal([(byte)42], a.As<byte>());
    }

    [Theory]
    [InlineData(9)]
    [InlineData(100)]
    [InlineData(100_000)]   // deep enough to overflow the stack if recursion were unbounded
    public void DeepArrayNestingIsRejected(int levels)
    {
        var b = NestedArrays(levels);
        Rejects(b.ToArray(), "nests arrays deeper than 8", b["level9"]);
    }

    // ---- tiny and truncated files ----

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void TooShortForAHeader(int length)
    {
        Rejects("GGUF"u8[..length].ToArray(), "too short", 0);
    }

    [Fact]
    public void MagicOnly()
    {
        Rejects("GGUF"u8.ToArray(), "version needs 4 bytes", 4);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(23)]
    public void TooShortFilesOnDisk(int length)
    {
        // Open maps the file; an empty file cannot be mapped and takes its own path.
        string path = Path.Combine(Path.GetTempPath(), $"llamaaot-short-{Environment.ProcessId}-{length}.gguf");
        File.WriteAllBytes(path, GgufBuilder.SingleTensor().ToArray()[..length]);
        try
        {
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
            Assert.Equal(path, e.File);
            Assert.InRange(e.Offset, 0, length);
            Assert.Contains(length < 4 ? "too short" : "truncated", e.Problem, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static readonly string[] TruncationProblems = ["too short", "truncated", "past the end", "cannot fit"];

    private static void AssertTruncationRejected(byte[] full, int length)
    {
        // Called thousands of times, so parsed inline rather than through ParseOutcome's worker task (which costs
        // ~10x the parse); a prefix of a valid file cannot make the parser loop.
        Exception? thrown = null;
        try
        {
            using var f = GgufFile.FromBytes(full[..length], Name);
        }
        catch (Exception ex)
        {
            thrown = ex;
        }
        if (thrown is null) Assert.Fail($"image truncated to {length} of {full.Length} bytes was accepted");
        if (thrown is not GgufFormatException e)
        {
            Assert.Fail($"truncated to {length}: {thrown.GetType().Name} instead of GgufFormatException: {thrown}");
            return;
        }
        Assert.True(e.Offset >= 0 && e.Offset <= length, $"truncated to {length}: error offset {e.Offset} lies outside the image");
        Assert.True(TruncationProblems.Any(p => e.Problem.Contains(p, StringComparison.Ordinal)),
            $"truncated to {length}: problem does not say the file is short: {e.Problem}");
    }

    [Fact]
    public void TruncationAtEveryHeaderByteOfARealModel()
    {
        byte[] full = File.ReadAllBytes(TestPaths.Model("stories260K-Q8_0.gguf"));
        long dataOffset;
        using (var f = GgufFile.FromBytes(full)) dataOffset = f.DataOffset;
        Assert.Equal(14240, dataOffset);
        for (int length = 0; length <= dataOffset; length++) AssertTruncationRejected(full, length);
    }

    [Fact]
    public void TruncationThroughTheDataOfARealModel()
    {
        byte[] full = File.ReadAllBytes(TestPaths.Model("stories260K-Q8_0.gguf"));
        long dataOffset, tensorEnd;
        var boundaries = new List<long>();
        using (var f = GgufFile.FromBytes(full))
        {
            dataOffset = f.DataOffset;
            tensorEnd = f.Tensors.Max(t => f.DataOffset + (long)t.Offset + t.ByteSize);
            foreach (var t in f.Tensors)
            {
                long start = f.DataOffset + (long)t.Offset;
                boundaries.AddRange([start - 1, start, start + 1, start + t.ByteSize - 1, start + t.ByteSize, start + t.ByteSize + 1]);
            }
        }
        // The last tensor ends 16 bytes before the end of the file: only alignment padding follows it.
        Assert.Equal(full.Length - 16, tensorEnd);

        var lengths = new SortedSet<long>(boundaries.Where(l => l > dataOffset && l <= full.Length));
        for (long l = dataOffset; l < full.Length; l += 1009) lengths.Add(l);
        for (long l = tensorEnd - 40; l <= full.Length; l++) lengths.Add(l);

        foreach (long length in lengths)
        {
            if (length < tensorEnd)
            {
                AssertTruncationRejected(full, (int)length);
            }
            else
            {
                // Cutting only the trailing padding loses no tensor byte: llama.cpp's mmap loader accepts such a file
                // (it checks each tensor's bytes against the file size), so the reader does too.
                using var f = GgufFile.FromBytes(full[..(int)length]);
                Assert.Equal(48, f.Tensors.Count);
                Assert.Equal(full.AsSpan((int)tensorEnd - 11696, 11696).ToArray(), f.GetData(f.Tensors[^1]).ToArray());
            }
        }
    }

    // ---- counts that only a huge file could hold ----

    [Theory]
    [InlineData(3_000_000_000UL, 8L, "tensor count 3000000000 is more than")]
    [InlineData(2_000_000_000UL, 24L + 8, "n_dims 0")]   // the first (all-zero) tensor info: empty name, then n_dims 0
    public void TensorCountInTheBillionsOnAHugeSparseFile(ulong count, long offset, string problem)
    {
        if (!OperatingSystem.IsLinux()) return;   // relies on sparse files, which ext4/xfs/tmpfs create on SetLength
        string path = Path.Combine(Path.GetTempPath(), $"llamaaot-sparse-{Environment.ProcessId}-{count}.gguf");
        try
        {
            using (var fs = new FileStream(path, FileMode.Create, FileAccess.Write))
            {
                // Billions of tensors at >= 32 bytes each fit in 100 GiB, so the file-size bound alone cannot reject
                // these; the count must neither be cast past int nor size an allocation before entries are checked.
                fs.Write(new GgufBuilder().Header(count, 0).ToArray());
                fs.SetLength(100L << 30);
            }
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
            Assert.Equal(offset, e.Offset);
            Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MetadataCountInTheBillionsOnAHugeSparseFile()
    {
        if (!OperatingSystem.IsLinux()) return;
        string path = Path.Combine(Path.GetTempPath(), $"llamaaot-sparse-kv-{Environment.ProcessId}.gguf");
        try
        {
            using (var fs = new FileStream(path, FileMode.Create, FileAccess.Write))
            {
                fs.Write(new GgufBuilder().Header(0, 5_000_000_000UL).ToArray());
                fs.SetLength(100L << 30);
            }
            // All-zero KVs: key "" of type u8, twice; the second is a duplicate.
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
            Assert.Contains("duplicate metadata key ''", e.Problem, StringComparison.Ordinal);
            Assert.Equal(24 + 13, e.Offset);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
