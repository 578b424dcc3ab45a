// GGUF reader on the shared models (facts known from how they were made), the ggml type table, typed metadata
// accessors, and every metadata value type through writer and reader — checked against an independent encoding.
using LlamaAot.Gguf;
using LlamaAot.Kernels.Quants;
using Xunit;

namespace LlamaAot.Tests.Gguf;

public class GgufReaderTests
{
    public static TheoryData<string> ModelFiles => new(TestPaths.AllModelFiles().Select(p => Path.GetFileName(p)));

    private static readonly string[] StoriesQuants = ["F32", "F16", "Q8_0", "Q4_0", "Q4_K_M"];
    private static readonly string[] SynthQuants = ["F32", "F16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"];

    public static TheoryData<string> StoriesFiles => new(StoriesQuants);
    public static TheoryData<string> SynthTypes => new(SynthQuants);

    [Fact]
    public void SharedModelSetIsComplete()
    {
        var names = TestPaths.AllModelFiles().Select(p => Path.GetFileName(p)).ToHashSet(StringComparer.Ordinal);
        foreach (string q in StoriesQuants) Assert.Contains($"stories260K-{q}.gguf", names);
        foreach (string q in SynthQuants) Assert.Contains($"synth-mini-{q}.gguf", names);
        Assert.Contains("vocab-llama-spm.gguf", names);
    }

    [Theory]
    [MemberData(nameof(ModelFiles))]
    public void EverySharedModelParses(string fileName)
    {
        using var f = GgufFile.Open(TestPaths.Model(fileName));
        Assert.Equal(3u, f.Version);
        Assert.Equal(new FileInfo(f.Path).Length, f.FileLength);
        Assert.Equal(GgufFile.DefaultAlignment, f.Alignment);
        Assert.Equal("llama", f.Metadata.GetString("general.architecture"));
        Assert.Equal(0, f.DataOffset % f.Alignment);

        long end = 0;
        foreach (var t in f.Tensors)
        {
            var info = GgmlTypes.Get(t.Type);
            Assert.Equal(t.Dims.Aggregate(1L, (a, d) => a * d), t.ElementCount);
            Assert.Equal(t.ElementCount / info.BlockSize * info.TypeSize, t.ByteSize);
            Assert.Equal(0UL, t.Offset % f.Alignment);
            Assert.Same(t, f.FindTensor(t.Name));
            Assert.Equal((int)t.ByteSize, f.GetData(t).Length);
            end = Math.Max(end, f.DataOffset + (long)t.Offset + t.ByteSize);
        }
        Assert.True(end <= f.FileLength, $"tensor data ends at {end}, past the file's {f.FileLength} bytes");
    }

    [Theory]
    [MemberData(nameof(StoriesFiles))]
    public void Stories260KFacts(string quant)
    {
        using var f = GgufFile.Open(TestPaths.Model($"stories260K-{quant}.gguf"));
        var m = f.Metadata;
        Assert.Equal(5u, m.GetUInt32("llama.block_count"));
        Assert.Equal(8u, m.GetUInt32("llama.attention.head_count"));
        Assert.Equal(4u, m.GetUInt32("llama.attention.head_count_kv"));
        Assert.Equal(64u, m.GetUInt32("llama.embedding_length"));
        Assert.Equal(172u, m.GetUInt32("llama.feed_forward_length"));
        Assert.Equal(1e-5f, m.GetFloat32("llama.attention.layer_norm_rms_epsilon"));

        string[] tokens = m.GetArray<string>("tokenizer.ggml.tokens", GgufValueType.String);
        Assert.Equal(512, tokens.Length);
        Assert.Equal(["<unk>", "<s>", "</s>"], tokens[..3]);
        Assert.Equal(512, m.GetArray<float>("tokenizer.ggml.scores", GgufValueType.Float32).Length);

        // token_embd, output_norm, output + 9 per layer (4 attention, 3 FFN, 2 norms).
        Assert.Equal(3 + (9 * 5), f.Tensors.Count);
        for (int layer = 0; layer < 5; layer++)
        {
            foreach (string part in new[] { "attn_q", "attn_k", "attn_v", "attn_output", "attn_norm", "ffn_gate", "ffn_up", "ffn_down", "ffn_norm" })
            {
                Assert.NotNull(f.FindTensor($"blk.{layer}.{part}.weight"));
            }
        }
        Assert.Null(f.FindTensor("blk.5.attn_q.weight"));

        var embd = f.GetTensor("token_embd.weight");
        Assert.Equal([64L, 512L], embd.Dims);
        Assert.Equal([64L, 32L], f.GetTensor("blk.0.attn_k.weight").Dims);      // 4 KV heads x head_dim 8
        Assert.Equal([172L, 64L], f.GetTensor("blk.0.ffn_down.weight").Dims);
        Assert.Equal(GgmlType.F32, f.GetTensor("output_norm.weight").Type);

        // 172 is not a multiple of 32, so ffn_down cannot take a block type: F16 in every quantized file.
        var expectedDown = quant == "F32" ? GgmlType.F32 : GgmlType.F16;
        Assert.All(f.Tensors.Where(t => t.Name.EndsWith("ffn_down.weight", StringComparison.Ordinal)), t => Assert.Equal(expectedDown, t.Type));
    }

    [Fact]
    public void Stories260KQ8_0Layout()
    {
        using var f = GgufFile.Open(TestPaths.Model("stories260K-Q8_0.gguf"));
        Assert.Equal(14240, f.DataOffset);   // header ends at 14229, padded to 32
        var output = f.Tensors[0];
        Assert.Equal("output.weight", output.Name);
        Assert.Equal(GgmlType.Q8_0, output.Type);
        Assert.Equal(0UL, output.Offset);
        Assert.Equal(64 / 32 * 34 * 512, output.ByteSize);
        Assert.Equal(34816UL, f.GetTensor("output_norm.weight").Offset);
        Assert.Equal(353216UL, f.Tensors[^1].Offset);
        Assert.Equal("blk.4.ffn_up.weight", f.Tensors[^1].Name);
    }

    [Theory]
    [MemberData(nameof(SynthTypes))]
    public void SynthMiniWeightsHaveTheTypeTheFileNameSays(string typeName)
    {
        var expected = Enum.Parse<GgmlType>(typeName);
        using var f = GgufFile.Open(TestPaths.Model($"synth-mini-{typeName}.gguf"));
        Assert.Equal(2u, f.Metadata.GetUInt32("llama.block_count"));
        Assert.Equal(512u, f.Metadata.GetUInt32("llama.embedding_length"));
        Assert.Equal(3 + (9 * 2), f.Tensors.Count);
        int twoD = 0;
        foreach (var t in f.Tensors)
        {
            if (t.NDims == 2)
            {
                twoD++;
                Assert.True(t.Type == expected, $"{t.Name} is {t.TypeName}, expected {typeName}");
            }
            else
            {
                Assert.Equal(1, t.NDims);
                Assert.True(t.Type == GgmlType.F32, $"{t.Name} is {t.TypeName}, expected F32");
            }
        }
        Assert.Equal(2 + (7 * 2), twoD);
        Assert.Equal([512L, 512L], f.GetTensor("blk.0.attn_q.weight").Dims);
        Assert.Equal([512L, 128L], f.GetTensor("blk.0.attn_k.weight").Dims);   // 2 KV heads x head_dim 64
        Assert.Equal([1536L, 512L], f.GetTensor("blk.1.ffn_down.weight").Dims);
    }

    [Fact]
    public void VocabOnlyFileHasNoTensors()
    {
        using var f = GgufFile.Open(TestPaths.Model("vocab-llama-spm.gguf"));
        Assert.Empty(f.Tensors);
        Assert.Equal(32000, f.Metadata.GetArray<string>("tokenizer.ggml.tokens", GgufValueType.String).Length);
        Assert.Equal(32000, f.Metadata.GetArray("tokenizer.ggml.token_type").Count);
    }

    // ---- type table ----

    // Ids from ggml.h's enum ggml_type; block and type sizes from sizeof(block_*) in ggml-common.h.
    [Theory]
    [InlineData(0u, "F32", 1, 4)]
    [InlineData(1u, "F16", 1, 2)]
    [InlineData(2u, "Q4_0", 32, 18)]
    [InlineData(3u, "Q4_1", 32, 20)]
    [InlineData(6u, "Q5_0", 32, 22)]
    [InlineData(7u, "Q5_1", 32, 24)]
    [InlineData(8u, "Q8_0", 32, 34)]
    [InlineData(9u, "Q8_1", 32, 36)]
    [InlineData(10u, "Q2_K", 256, 84)]
    [InlineData(11u, "Q3_K", 256, 110)]
    [InlineData(12u, "Q4_K", 256, 144)]
    [InlineData(13u, "Q5_K", 256, 176)]
    [InlineData(14u, "Q6_K", 256, 210)]
    [InlineData(15u, "Q8_K", 256, 292)]
    [InlineData(16u, "IQ2_XXS", 256, 66)]
    [InlineData(17u, "IQ2_XS", 256, 74)]
    [InlineData(18u, "IQ3_XXS", 256, 98)]
    [InlineData(19u, "IQ1_S", 256, 50)]
    [InlineData(20u, "IQ4_NL", 32, 18)]
    [InlineData(21u, "IQ3_S", 256, 110)]
    [InlineData(22u, "IQ2_S", 256, 82)]
    [InlineData(23u, "IQ4_XS", 256, 136)]
    [InlineData(24u, "I8", 1, 1)]
    [InlineData(25u, "I16", 1, 2)]
    [InlineData(26u, "I32", 1, 4)]
    [InlineData(27u, "I64", 1, 8)]
    [InlineData(28u, "F64", 1, 8)]
    [InlineData(29u, "IQ1_M", 256, 56)]
    [InlineData(30u, "BF16", 1, 2)]
    [InlineData(34u, "TQ1_0", 256, 54)]
    [InlineData(35u, "TQ2_0", 256, 66)]
    [InlineData(39u, "MXFP4", 32, 17)]
    public void TypeTableMatchesGgml(uint id, string name, int blockSize, int typeSize)
    {
        Assert.True(GgmlTypes.TryGet(id, out var info), $"type id {id} should be known");
        Assert.Equal(name, info.Name);
        Assert.Equal((GgmlType)id, info.Type);
        Assert.Equal(blockSize, info.BlockSize);
        Assert.Equal(typeSize, info.TypeSize);
        Assert.Equal(blockSize > 1, info.IsQuantized);
        Assert.Equal(info, GgmlTypes.Get((GgmlType)id));
        Assert.Equal(3L * typeSize, GgmlTypes.RowBytes((GgmlType)id, 3L * blockSize));
    }

    [Fact]
    public void TypeTableHoldsExactlyTheLiveGgmlIds()
    {
        uint[] live = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 34, 35, 39];
        Assert.Equal(live, GgmlTypes.All.Select(i => (uint)i.Type).ToArray());
        for (uint id = 0; id < 64; id++)
        {
            Assert.Equal(live.Contains(id), GgmlTypes.TryGet(id, out _));
        }
        Assert.False(GgmlTypes.TryGet(uint.MaxValue, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => GgmlTypes.Get((GgmlType)4));
    }

    // ---- typed accessors ----

    private static GgufMetadata AccessorMetadata()
    {
        var b = GgufBuilder.MetadataOnly(kvCount: 9)
            .KvU32("a.u32", 7)
            .KvString("a.str", "hello")
            .KvF32("a.f32", 0.5f)
            .KvBool("a.bool", true)
            .KvU64("a.u64.big", ulong.MaxValue)
            .KvU8("a.u8", 200)
            .Key("a.i16", GgufValueType.Int16).I16(-300)
            .Key("a.f64", GgufValueType.Float64).F64(0.25)
            .Key("a.arr", GgufValueType.Array).ArrayHeader(GgufValueType.UInt32, 2).U32(1).U32(2);
        using var f = GgufFile.FromBytes(b.ToArray());
        return f.Metadata;   // metadata is fully decoded: it does not point into the file
    }

    [Fact]
    public void TypedAccessorsReturnStoredValues()
    {
        var m = AccessorMetadata();
        Assert.Equal(7u, m.GetUInt32("a.u32"));
        Assert.Equal("hello", m.GetString("a.str"));
        Assert.Equal(0.5f, m.GetFloat32("a.f32"));
        Assert.True(m.GetBool("a.bool"));
        Assert.Equal(ulong.MaxValue, m.GetUInt64("a.u64.big"));
        Assert.Equal(7, m.GetInteger("a.u32"));
        Assert.Equal(200, m.GetInteger("a.u8"));
        Assert.Equal(-300, m.GetInteger("a.i16"));
        Assert.Equal(0.25f, m.GetFloat("a.f64"));
        Assert.Equal(0.5f, m.GetFloat("a.f32"));
        Assert.Equal([1u, 2u], m.GetArray<uint>("a.arr", GgufValueType.UInt32));
        Assert.Equal(42, m.GetInteger("a.missing", 42));
        Assert.Equal(1.5f, m.GetFloat("a.missing", 1.5f));
        Assert.False(m.GetBool("a.missing", false));
        Assert.Null(m.GetStringOrNull("a.missing"));
        Assert.Equal("hello", m.GetStringOrNull("a.str"));
    }

    public static TheoryData<string, string> AccessorMisuse => new()
    {
        { "GetString", "a.missing" },
        { "GetUInt32", "a.missing" },
        { "GetInteger", "a.missing" },
        { "GetArray", "a.missing" },
        { "GetString", "a.u32" },
        { "GetUInt32", "a.str" },
        { "GetInt32", "a.u32" },
        { "GetUInt64", "a.u32" },
        { "GetFloat32", "a.f64" },
        { "GetBool", "a.u8" },
        { "GetArray", "a.str" },
        { "GetArrayOfString", "a.arr" },
        { "GetInteger", "a.str" },
        { "GetInteger", "a.u64.big" },   // does not fit in a long
        { "GetFloat", "a.bool" },
        { "GetIntegerWithFallback", "a.str" },   // a fallback only covers a missing key, not a wrong type
    };

    [Theory]
    [MemberData(nameof(AccessorMisuse))]
    public void TypedAccessorErrorsAreKeyExceptionsNamingTheKey(string accessor, string key)
    {
        var m = AccessorMetadata();
        Action call = accessor switch
        {
            "GetString" => () => m.GetString(key),
            "GetUInt32" => () => m.GetUInt32(key),
            "GetInt32" => () => m.GetInt32(key),
            "GetUInt64" => () => m.GetUInt64(key),
            "GetFloat32" => () => m.GetFloat32(key),
            "GetBool" => () => m.GetBool(key),
            "GetArray" => () => m.GetArray(key),
            "GetArrayOfString" => () => m.GetArray<string>(key, GgufValueType.String),
            "GetInteger" => () => m.GetInteger(key),
            "GetIntegerWithFallback" => () => m.GetInteger(key, 1),
            "GetFloat" => () => m.GetFloat(key),
            _ => throw new ArgumentException(accessor),
        };
        var e = Assert.Throws<GgufKeyException>(call);
        Assert.Contains($"'{key}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTensorIsAUserError()
    {
        using var f = GgufFile.FromBytes(GgufBuilder.SingleTensor().ToArray());
        Assert.Null(f.FindTensor("nope"));
        var e = Assert.Throws<LlamaAotException>(() => f.GetTensor("nope"));
        Assert.Contains("'nope'", e.Message, StringComparison.Ordinal);
    }

    // ---- every value type through writer and reader ----

    /// <summary>One entry per value type, with edge values (extremes, NaN payloads, -0, empty and non-ASCII strings).</summary>
    private static List<(string Key, GgufValue Value)> AllValueKinds()
    {
        static GgufValue Arr(GgufValueType t, Array items) => GgufValue.Of(new GgufArray(t, items));
        float nanF = BitConverter.UInt32BitsToSingle(0x7FC1_2345);
        double nanD = BitConverter.UInt64BitsToDouble(0xFFF8_0000_DEAD_BEEF);
        return
        [
            ("v.u8", new(GgufValueType.UInt8, (byte)255)),
            ("v.i8", new(GgufValueType.Int8, sbyte.MinValue)),
            ("v.u16", new(GgufValueType.UInt16, (ushort)0xBEEF)),
            ("v.i16", new(GgufValueType.Int16, (short)-12345)),
            ("v.u32", GgufValue.Of(0xDEADBEEFu)),
            ("v.i32", GgufValue.Of(int.MinValue)),
            ("v.f32", GgufValue.Of(-1.25e-7f)),
            ("v.f32.nan", GgufValue.Of(nanF)),
            ("v.f32.negzero", GgufValue.Of(-0.0f)),
            ("v.bool.true", GgufValue.Of(true)),
            ("v.bool.false", GgufValue.Of(false)),
            ("v.str", GgufValue.Of("héllo wörld ✓ 🦙")),
            ("v.str.empty", GgufValue.Of("")),
            ("", GgufValue.Of("empty key")),
            ("v.u64", GgufValue.Of(ulong.MaxValue)),
            ("v.i64", new(GgufValueType.Int64, long.MinValue)),
            ("v.f64", new(GgufValueType.Float64, Math.PI)),
            ("v.f64.nan", new(GgufValueType.Float64, nanD)),
            ("v.f64.denormal", new(GgufValueType.Float64, double.Epsilon)),
            ("a.u8", Arr(GgufValueType.UInt8, new byte[] { 0, 1, 255 })),
            ("a.i8", Arr(GgufValueType.Int8, new sbyte[] { -128, 0, 127 })),
            ("a.u16", Arr(GgufValueType.UInt16, new ushort[] { 0, 65535 })),
            ("a.i16", Arr(GgufValueType.Int16, new short[] { short.MinValue, short.MaxValue })),
            ("a.u32", Arr(GgufValueType.UInt32, new uint[] { 1, uint.MaxValue })),
            ("a.i32", Arr(GgufValueType.Int32, new int[] { -1, int.MaxValue })),
            ("a.f32", Arr(GgufValueType.Float32, new float[] { 1.5f, float.NegativeInfinity, nanF })),
            ("a.bool", Arr(GgufValueType.Bool, new bool[] { true, false, true })),
            ("a.str", Arr(GgufValueType.String, new string[] { "a", "", "日本語", "<0x0A>" })),
            ("a.u64", Arr(GgufValueType.UInt64, new ulong[] { 0, ulong.MaxValue })),
            ("a.i64", Arr(GgufValueType.Int64, new long[] { long.MinValue, 5 })),
            ("a.f64", Arr(GgufValueType.Float64, new double[] { -0.0, double.MaxValue, nanD })),
            ("a.empty", Arr(GgufValueType.Float32, Array.Empty<float>())),
            ("a.arr", Arr(GgufValueType.Array, new GgufArray[]
            {
                new(GgufValueType.UInt32, new uint[] { 1, 2, 3 }),
                new(GgufValueType.String, new string[] { "x", "yz" }),
                new(GgufValueType.Array, new GgufArray[] { new(GgufValueType.Bool, new bool[] { true }), new(GgufValueType.Int8, Array.Empty<sbyte>()) }),
                new(GgufValueType.Float64, Array.Empty<double>()),
            })),
        ];
    }

    /// <summary>The test's own encoding of a value (GGUF spec), independent of GgufWriter.</summary>
    private static void Encode(GgufBuilder b, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.UInt8: b.U8((byte)value); break;
            case GgufValueType.Int8: b.I8((sbyte)value); break;
            case GgufValueType.UInt16: b.U16((ushort)value); break;
            case GgufValueType.Int16: b.I16((short)value); break;
            case GgufValueType.UInt32: b.U32((uint)value); break;
            case GgufValueType.Int32: b.I32((int)value); break;
            case GgufValueType.Float32: b.F32((float)value); break;
            case GgufValueType.Bool: b.Bool((bool)value); break;
            case GgufValueType.String: b.Str((string)value); break;
            case GgufValueType.UInt64: b.U64((ulong)value); break;
            case GgufValueType.Int64: b.I64((long)value); break;
            case GgufValueType.Float64: b.F64((double)value); break;
            case GgufValueType.Array:
                var a = (GgufArray)value;
                b.ArrayHeader(a.ElementType, (ulong)a.Count);
                foreach (object item in a.Items) Encode(b, a.ElementType, item);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>Deep equality with floats compared bit for bit (NaN payloads and -0 must survive).</summary>
    internal static void AssertValueEqual(GgufValueType expectedType, object expected, GgufValueType actualType, object actual, string where)
    {
        Assert.True(expectedType == actualType, $"{where}: type {actualType}, expected {expectedType}");
        switch (expected)
        {
            case float f:
                Assert.True(BitConverter.SingleToUInt32Bits(f) == BitConverter.SingleToUInt32Bits(Assert.IsType<float>(actual)), $"{where}: {actual} != {f}");
                break;
            case double d:
                Assert.True(BitConverter.DoubleToUInt64Bits(d) == BitConverter.DoubleToUInt64Bits(Assert.IsType<double>(actual)), $"{where}: {actual} != {d}");
                break;
            case GgufArray ea:
                var aa = Assert.IsType<GgufArray>(actual);
                Assert.True(ea.Count == aa.Count, $"{where}: {aa.Count} elements, expected {ea.Count}");
                Assert.True(ea.Items.GetType() == aa.Items.GetType(), $"{where}: items are {aa.Items.GetType()}, expected {ea.Items.GetType()}");
                for (int i = 0; i < ea.Count; i++)
                {
                    AssertValueEqual(ea.ElementType, ea.Items.GetValue(i)!, aa.ElementType, aa.Items.GetValue(i)!, $"{where}[{i}]");
                }
                break;
            default:
                Assert.True(expected.GetType() == actual.GetType(), $"{where}: {actual.GetType()} != {expected.GetType()}");
                Assert.True(expected.Equals(actual), $"{where}: {actual} != {expected}");
                break;
        }
    }

    internal static void AssertMetadataEqual(GgufMetadata expected, GgufMetadata actual)
    {
        Assert.Equal(expected.Entries.Select(e => e.Key), actual.Entries.Select(e => e.Key));
        for (int i = 0; i < expected.Count; i++)
        {
            var (ek, ev) = expected.Entries[i];
            var av = actual.Entries[i].Value;
            AssertValueEqual(ev.Type, ev.Value, av.Type, av.Value, $"key '{ek}'");
        }
    }

    [Fact]
    public void EveryValueTypeRoundTripsThroughWriterAndReader()
    {
        var kinds = AllValueKinds();
        var w = new GgufWriter();
        foreach (var (key, value) in kinds) Assert.True(w.Metadata.TryAdd(key, value));
        var written = new MemoryStream();
        w.WriteTo(written);
        byte[] bytes = written.ToArray();

        // The writer's bytes must be exactly the spec encoding (the builder's), not merely something the reader accepts.
        var b = GgufBuilder.MetadataOnly((ulong)kinds.Count);
        foreach (var (key, value) in kinds)
        {
            b.Key(key, value.Type);
            Encode(b, value.Type, value.Value);
        }
        Assert.Equal(b.ToArray(), bytes);

        using var f = GgufFile.FromBytes(bytes);
        Assert.Empty(f.Tensors);
        Assert.Equal(kinds.Count, f.Metadata.Count);
        AssertMetadataEqual(w.Metadata, f.Metadata);
    }

    [Fact]
    public void ReaderDecodesAHandEncodedImage()
    {
        // Decoding checked against the builder alone, so a writer and reader that agree on a wrong encoding still fail.
        var b = GgufBuilder.MetadataOnly(kvCount: 6)
            .Key("k.i8", GgufValueType.Int8).U8(0xFE)
            .Key("k.i16", GgufValueType.Int16).Bytes([0x34, 0x12])
            .Key("k.f32", GgufValueType.Float32).Bytes([0x00, 0x00, 0xC0, 0x3F])
            .Key("k.i64", GgufValueType.Int64).Bytes([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
            .Key("k.str", GgufValueType.String).Bytes([3, 0, 0, 0, 0, 0, 0, 0, (byte)'a', 0xC3, 0xA9])
            .Key("k.nested", GgufValueType.Array).ArrayHeader(GgufValueType.Array, 1).ArrayHeader(GgufValueType.UInt16, 2).Bytes([1, 0, 0, 1]);
        using var f = GgufFile.FromBytes(b.ToArray());
        var m = f.Metadata;
        Assert.Equal((sbyte)-2, m.Get("k.i8").Value);
        Assert.Equal((short)0x1234, m.Get("k.i16").Value);
        Assert.Equal(1.5f, m.GetFloat32("k.f32"));
        Assert.Equal(-1L, m.Get("k.i64").Value);
        Assert.Equal("aé", m.GetString("k.str"));
        var inner = Assert.Single(m.GetArray<GgufArray>("k.nested", GgufValueType.Array));
        Assert.Equal([(ushort)1, (ushort)256], inner.As<ushort>());
    }

    // ---- tensor data pointers ----

    [Fact]
    public unsafe void TensorDataPointerIsDataOffsetPlusOffset()
    {
        string path = TestPaths.Model("stories260K-Q8_0.gguf");
        byte[] raw = File.ReadAllBytes(path);
        using var f = GgufFile.Open(path);
        foreach (var t in f.Tensors)
        {
            long at = f.DataOffset + (long)t.Offset;
            Assert.True(f.GetDataPointer(t) == f.BasePointer + at, $"{t.Name}: pointer is not BasePointer + DataOffset + Offset");
            Assert.True(raw.AsSpan((int)at, (int)t.ByteSize).SequenceEqual(f.GetData(t)), $"{t.Name}: bytes differ from the file at {at}");
        }
    }

    [Fact]
    public void HandMadeTensorsReadBackFromTheirOffsets()
    {
        byte[] a = GgufBuilder.Pattern(64 * 4, salt: 1);
        byte[] q = GgufBuilder.Pattern(2 * 3 * 34, salt: 2);
        var b = new GgufBuilder()
            .Header(tensorCount: 2, kvCount: 0)
            .TensorInfo("q", [64, 3], GgmlType.Q8_0, 256)       // stored second, listed first
            .TensorInfo("a", [64], GgmlType.F32, 0)
            .PadTo(32).Mark("data")
            .Bytes(a).PadTo(32).Bytes(q);
        using var f = GgufFile.FromBytes(b.ToArray());
        Assert.Equal(b["data"], f.DataOffset);
        Assert.Equal(["q", "a"], f.Tensors.Select(t => t.Name));
        Assert.Equal(q, f.GetData(f.GetTensor("q")).ToArray());
        Assert.Equal(a, f.GetData(f.GetTensor("a")).ToArray());
        Assert.Equal(3, f.GetTensor("q").Rows);
        Assert.Equal(64, f.GetTensor("q").RowLength);
        Assert.Equal(b["tensor:a"], f.GetTensor("a").InfoPosition);
    }
}
