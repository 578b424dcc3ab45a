// Loading the vocabulary from GGUF metadata: the real files' special ids and flags, and clear errors for files
// that are not SentencePiece vocabularies or whose tokenizer metadata is broken (built in memory).
using LlamaAot.Gguf;
using LlamaAot.Tokenizer;
using Xunit;

namespace LlamaAot.Tests.Tokenizer;

public sealed class LlamaVocabTests
{
    [Fact]
    public void LlamaVocab_HasTheExpectedSpecialTokens()
    {
        var v = TokenizerTestData.Llama.Vocab;
        Assert.Equal(32000, v.Count);
        Assert.Equal((1, 2, 0), (v.BosId, v.EosId, v.UnkId));
        Assert.Equal(LlamaVocab.NoToken, v.EotId);
        Assert.True(v.AddBos);
        Assert.False(v.AddEos);
        Assert.True(v.AddSpacePrefix);
        Assert.Equal(LlamaTokenType.Control, v.GetTokenType(1));
        Assert.Equal(LlamaTokenType.Unknown, v.GetTokenType(0));
        Assert.Equal(LlamaTokenType.Byte, v.GetTokenType(3 + 0x41));
        Assert.Equal([2], v.EndOfGenerationIds);
        Assert.True(v.IsEndOfGeneration(2));
        Assert.False(v.IsEndOfGeneration(1));
    }

    [Fact]
    public void StoriesVocab_DefaultsAddBosWhenTheKeyIsAbsent()
    {
        var v = TokenizerTestData.Stories.Vocab;
        Assert.Equal(512, v.Count);
        Assert.True(v.AddBos);
    }

    [Fact]
    public void InMemoryVocab_Loads()
    {
        using var file = GgufFile.FromBytes(Build(_ => { }));
        var v = LlamaVocab.FromGguf(file);
        Assert.Equal(Tokens.Length, v.Count);
        Assert.Equal(1, v.BosId);
        Assert.Equal(5, v.EotId); // found by its text
        Assert.True(v.IsEndOfGeneration(5));
        Assert.Equal(LlamaTokenType.Control, v.GetTokenType(5));
    }

    [Fact]
    public void IdsStoredAsI32_AreAccepted()
    {
        using var file = GgufFile.FromBytes(Build(md => md.Set(LlamaVocab.EosKey, GgufValue.Of(4))));
        Assert.Equal(4, LlamaVocab.FromGguf(file).EosId);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("bert")]
    [InlineData("t5")]
    public void WrongTokenizerModel_IsAClearError(string model)
    {
        using var file = GgufFile.FromBytes(Build(md => md.Set(LlamaVocab.ModelKey, GgufValue.Of(model))));
        var e = Assert.Throws<LlamaAotException>(() => LlamaVocab.FromGguf(file));
        Assert.Contains($"'{model}'", e.Message);
        Assert.Contains("not supported", e.Message);
    }

    [Fact]
    public void MissingTokenizerModel_IsAClearError()
    {
        using var file = GgufFile.FromBytes(Build(md => md.Remove(LlamaVocab.ModelKey)));
        var e = Assert.Throws<LlamaAotException>(() => LlamaVocab.FromGguf(file));
        Assert.Contains(LlamaVocab.ModelKey, e.Message);
    }

    [Theory]
    [InlineData(LlamaVocab.TokensKey)]
    [InlineData(LlamaVocab.ScoresKey)]
    [InlineData(LlamaVocab.TokenTypeKey)]
    public void MissingArray_IsAClearError(string key)
    {
        using var file = GgufFile.FromBytes(Build(md => md.Remove(key)));
        var e = Assert.Throws<LlamaAotException>(() => LlamaVocab.FromGguf(file));
        Assert.Contains(key, e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void ArraysOfDifferentLengths_AreAClearError()
    {
        using var file = GgufFile.FromBytes(Build(md =>
            md.Set(LlamaVocab.ScoresKey, GgufValue.Of(new GgufArray(GgufValueType.Float32, new float[] { 0, 0 })))));
        var e = Assert.Throws<LlamaAotException>(() => LlamaVocab.FromGguf(file));
        Assert.Contains("disagree", e.Message);
    }

    [Fact]
    public void ArrayOfTheWrongType_IsAClearError()
    {
        using var file = GgufFile.FromBytes(Build(md =>
            md.Set(LlamaVocab.TokenTypeKey, GgufValue.Of(new GgufArray(GgufValueType.Float32, new float[Tokens.Length])))));
        var e = Assert.Throws<LlamaAotException>(() => LlamaVocab.FromGguf(file));
        Assert.Contains(LlamaVocab.TokenTypeKey, e.Message);
    }

    [Theory]
    [InlineData(LlamaVocab.BosKey)]
    [InlineData(LlamaVocab.EosKey)]
    [InlineData(LlamaVocab.UnkKey)]
    [InlineData(LlamaVocab.EotKey)]
    public void OutOfRangeId_IsAClearError(string key)
    {
        using var file = GgufFile.FromBytes(Build(md => md.Set(key, GgufValue.Of((uint)Tokens.Length))));
        var e = Assert.Throws<LlamaAotException>(() => LlamaVocab.FromGguf(file));
        Assert.Contains(key, e.Message);
        Assert.Contains("out of range", e.Message);
    }

    [Fact]
    public void DuplicateToken_IsAClearError()
    {
        string[] tokens = (string[])Tokens.Clone();
        tokens[4] = "a";
        var e = Assert.Throws<LlamaAotException>(() => new LlamaVocab(tokens, new float[tokens.Length], new int[tokens.Length]));
        Assert.Contains("duplicate", e.Message);
    }

    private static readonly string[] Tokens = ["<unk>", "<s>", "</s>", "a", "\u2581a", "<|im_end|>"];

    private static byte[] Build(Action<GgufMetadata> edit)
    {
        var w = new GgufWriter();
        var md = w.Metadata;
        md.Set("general.architecture", GgufValue.Of("llama"));
        md.Set(LlamaVocab.ModelKey, GgufValue.Of("llama"));
        md.Set(LlamaVocab.TokensKey, GgufValue.Of(new GgufArray(GgufValueType.String, Tokens)));
        md.Set(LlamaVocab.ScoresKey, GgufValue.Of(new GgufArray(GgufValueType.Float32, new float[] { 0, 0, 0, -1, -2, 0 })));
        md.Set(LlamaVocab.TokenTypeKey, GgufValue.Of(new GgufArray(GgufValueType.Int32, new[] { 2, 3, 3, 1, 1, 4 })));
        md.Set(LlamaVocab.BosKey, GgufValue.Of(1u));
        md.Set(LlamaVocab.EosKey, GgufValue.Of(2u));
        edit(md);
        using var ms = new MemoryStream();
        w.WriteTo(ms);
        return ms.ToArray();
    }
}
