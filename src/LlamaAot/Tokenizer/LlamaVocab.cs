// The SentencePiece ("llama") vocabulary as llama.cpp loads it from GGUF metadata (llama_vocab::impl::load): token
// texts, scores and types, the special ids, the add_bos/add_eos/add_space_prefix flags and the end-of-generation set.
using LlamaAot.Gguf;

namespace LlamaAot.Tokenizer;

/// <summary>llama.cpp's LLAMA_TOKEN_TYPE values, as stored in <c>tokenizer.ggml.token_type</c>.</summary>
public enum LlamaTokenType
{
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

public sealed class LlamaVocab
{
    public const int NoToken = -1;

    public const string ModelKey = "tokenizer.ggml.model";
    public const string TokensKey = "tokenizer.ggml.tokens";
    public const string ScoresKey = "tokenizer.ggml.scores";
    public const string TokenTypeKey = "tokenizer.ggml.token_type";
    public const string BosKey = "tokenizer.ggml.bos_token_id";
    public const string EosKey = "tokenizer.ggml.eos_token_id";
    public const string UnkKey = "tokenizer.ggml.unknown_token_id";
    public const string EotKey = "tokenizer.ggml.eot_token_id";
    public const string EomKey = "tokenizer.ggml.eom_token_id";
    public const string AddBosKey = "tokenizer.ggml.add_bos_token";
    public const string AddEosKey = "tokenizer.ggml.add_eos_token";
    public const string AddSpacePrefixKey = "tokenizer.ggml.add_space_prefix";

    // llama.cpp finds EOT/EOM by text when the GGUF does not name them, and treats every token with one of these
    // texts as end-of-generation; chat fine-tunes of SPM models (e.g. "<|im_end|>") rely on it to stop.
    private static readonly string[] EotTexts =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "_<EOT>", "<end_of_utterance>",
    ];
    private const string EomText = "<|eom_id|>";
    private static readonly string[] EogTexts =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
        "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
    ];

    private readonly string[] _tokens;
    private readonly float[] _scores;
    private readonly LlamaTokenType[] _types;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanLookup;
    private readonly HashSet<int> _eog = [];

    /// <summary>Builds a vocabulary from its parts; ids are -1 (<see cref="NoToken"/>) when absent.</summary>
    public LlamaVocab(
        string[] tokens, float[] scores, int[] tokenTypes,
        int bosId = 1, int eosId = 2, int unkId = 0, int eotId = NoToken, int eomId = NoToken,
        bool addBos = true, bool addEos = false, bool addSpacePrefix = true)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(tokenTypes);
        if (tokens.Length == 0) throw new LlamaAotException("the vocabulary has no tokens");
        if (scores.Length != tokens.Length || tokenTypes.Length != tokens.Length)
        {
            throw new LlamaAotException(
                $"vocabulary arrays disagree: {tokens.Length} tokens, {scores.Length} scores, {tokenTypes.Length} token types");
        }

        int n = tokens.Length;
        _tokens = new string[n];
        _scores = (float[])scores.Clone();
        _types = new LlamaTokenType[n];
        _tokenToId = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            // llama.cpp renames empty tokens so that they neither collide nor match empty text.
            string text = string.IsNullOrEmpty(tokens[i]) ? $"[EMPTY_{i}]" : tokens[i];
            if (!_tokenToId.TryAdd(text, i))
            {
                throw new LlamaAotException($"duplicate token in vocabulary: '{text}' has ids {_tokenToId[text]} and {i}");
            }
            _tokens[i] = text;
            int t = tokenTypes[i];
            _types[i] = t is >= 1 and <= 6 ? (LlamaTokenType)t : LlamaTokenType.Undefined;
        }
        _spanLookup = _tokenToId.GetAlternateLookup<ReadOnlySpan<char>>();

        BosId = CheckId(bosId, "BOS");
        EosId = CheckId(eosId, "EOS");
        UnkId = CheckId(unkId, "UNK");
        EotId = CheckId(eotId, "EOT");
        EomId = CheckId(eomId, "EOM");
        AddBos = addBos;
        AddEos = addEos;
        AddSpacePrefix = addSpacePrefix;
        if (addBos && BosId == NoToken) throw new LlamaAotException("the vocabulary asks to add BOS but has no BOS token id");
        if (addEos && EosId == NoToken) throw new LlamaAotException("the vocabulary asks to add EOS but has no EOS token id");

        // Walk ids in order so that the choice among several matching texts is deterministic (llama.cpp walks a
        // hash map; real vocabularies have at most one of each).
        for (int id = 0; id < n; id++)
        {
            string text = _tokens[id];
            if (EotId == NoToken && Array.IndexOf(EotTexts, text) >= 0) { EotId = id; MarkControl(id); }
            if (EomId == NoToken && text == EomText) { EomId = id; MarkControl(id); }
            if (Array.IndexOf(EogTexts, text) >= 0) { _eog.Add(id); MarkControl(id); }
        }
        if (EosId != NoToken) _eog.Add(EosId);
        if (EotId != NoToken) _eog.Add(EotId);
        if (EomId != NoToken) _eog.Add(EomId);

        int CheckId(int id, string what) => id == NoToken || (uint)id < (uint)n
            ? id
            : throw new LlamaAotException($"{what} token id {id} is out of range (the vocabulary has {n} tokens)");
    }

    // A control-looking end token that the file typed otherwise: llama.cpp overrides the type so it is neither
    // printed nor matched in plain text.
    private void MarkControl(int id) => _types[id] = LlamaTokenType.Control;

    public int Count => _tokens.Length;
    public IReadOnlyList<string> Tokens => _tokens;
    public IReadOnlyList<float> Scores => _scores;
    public IReadOnlyList<LlamaTokenType> TokenTypes => _types;

    public int BosId { get; }
    public int EosId { get; }
    public int UnkId { get; }
    public int EotId { get; }
    public int EomId { get; }
    public bool AddBos { get; }
    public bool AddEos { get; }
    public bool AddSpacePrefix { get; }

    /// <summary>Every id that ends generation: EOS, EOT, EOM and the tokens recognised by text.</summary>
    public IReadOnlyCollection<int> EndOfGenerationIds => _eog;

    public bool IsEndOfGeneration(int id) => _eog.Contains(id);

    public string GetText(int id) => _tokens[id];
    public float GetScore(int id) => _scores[id];
    public LlamaTokenType GetTokenType(int id) => _types[id];

    /// <summary>The id of a token by its exact text (▁ for spaces), or -1. Covers every token, control ones
    /// included, exactly like llama.cpp's token_to_id map.</summary>
    public int TextToToken(string text) => _tokenToId.TryGetValue(text, out int id) ? id : NoToken;

    internal bool TryGetId(ReadOnlySpan<char> text, out int id) => _spanLookup.TryGetValue(text, out id);

    internal string[] TokenArray => _tokens;
    internal float[] ScoreArray => _scores;
    internal LlamaTokenType[] TypeArray => _types;

    /// <summary>Reads the vocabulary of a GGUF file; only SentencePiece ("llama") vocabularies are supported.</summary>
    public static LlamaVocab FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var md = file.Metadata;
        string where = file.Path;
        try
        {
            string? model = md.GetStringOrNull(ModelKey);
            if (model is null)
            {
                throw new LlamaAotException($"{where}: no tokenizer in this file (metadata key '{ModelKey}' is missing)");
            }
            if (model != "llama")
            {
                throw new LlamaAotException(
                    $"{where}: tokenizer model '{model}' is not supported; only SentencePiece vocabularies ({ModelKey} = 'llama') are");
            }

            string[] tokens = md.GetArray<string>(Require(TokensKey), GgufValueType.String);
            float[] scores = ReadScores(md, Require(ScoresKey));
            int[] types = md.GetArray<int>(Require(TokenTypeKey), GgufValueType.Int32);
            if (scores.Length != tokens.Length || types.Length != tokens.Length)
            {
                throw new LlamaAotException(
                    $"{where}: vocabulary arrays disagree: {tokens.Length} tokens, {scores.Length} scores, {types.Length} token types");
            }

            int n = tokens.Length;
            int bos = ReadId(BosKey, 1);
            int eos = ReadId(EosKey, 2);
            int unk = ReadId(UnkKey, 0);
            int eot = ReadId(EotKey, NoToken);
            int eom = ReadId(EomKey, NoToken);
            bool addBos = md.GetBool(AddBosKey, true);
            bool addEos = md.GetBool(AddEosKey, false);
            bool addSpacePrefix = md.GetBool(AddSpacePrefixKey, true);
            if (addBos && bos == NoToken) throw new LlamaAotException($"{where}: {AddBosKey} is true, but {BosKey} is not set");
            if (addEos && eos == NoToken) throw new LlamaAotException($"{where}: {AddEosKey} is true, but {EosKey} is not set");

            return new LlamaVocab(tokens, scores, types, bos, eos, unk, eot, eom, addBos, addEos, addSpacePrefix);

            string Require(string key) => md.ContainsKey(key)
                ? key
                : throw new LlamaAotException($"{where}: metadata key '{key}' is missing");

            // A key the file sets must name a real token; a default that does not fit a tiny vocabulary is dropped,
            // as llama.cpp does.
            int ReadId(string key, int fallback)
            {
                if (!md.ContainsKey(key)) return (uint)fallback < (uint)n ? fallback : NoToken;
                long id = md.GetInteger(key);
                return id >= 0 && id < n
                    ? (int)id
                    : throw new LlamaAotException($"{where}: {key} = {id} is out of range (the vocabulary has {n} tokens)");
            }
        }
        catch (LlamaAotException e) when (!e.Message.StartsWith(where, StringComparison.Ordinal))
        {
            throw new LlamaAotException($"{where}: {e.Message}", e);
        }
    }

    // llama.cpp accepts scores stored as f32 or i32.
    private static float[] ReadScores(GgufMetadata md, string key)
    {
        var a = md.GetArray(key);
        if (a.ElementType == GgufValueType.Int32) return Array.ConvertAll(a.As<int>(), v => (float)v);
        return md.GetArray<float>(key, GgufValueType.Float32);
    }
}
