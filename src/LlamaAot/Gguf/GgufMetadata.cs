// Ordered GGUF key/value metadata with typed accessors. Order is kept because the writer must reproduce files exactly.
namespace LlamaAot.Gguf;

/// <summary>A missing metadata key or one whose stored type is not the one asked for.</summary>
public sealed class GgufKeyException(string message) : LlamaAotException(message);

public sealed class GgufMetadata
{
    private readonly List<KeyValuePair<string, GgufValue>> _entries = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public int Count => _entries.Count;
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Entries => _entries;

    public bool ContainsKey(string key) => _index.ContainsKey(key);

    /// <summary>Adds a key; false if it is already present (the reader turns that into a format error).</summary>
    public bool TryAdd(string key, GgufValue value)
    {
        if (!_index.TryAdd(key, _entries.Count)) return false;
        _entries.Add(new(key, value));
        return true;
    }

    /// <summary>Sets a key, replacing its value in place or appending it.</summary>
    public void Set(string key, GgufValue value)
    {
        if (_index.TryGetValue(key, out int i)) _entries[i] = new(key, value);
        else TryAdd(key, value);
    }

    public bool Remove(string key)
    {
        if (!_index.Remove(key, out int i)) return false;
        _entries.RemoveAt(i);
        for (int j = i; j < _entries.Count; j++) _index[_entries[j].Key] = j;
        return true;
    }

    public bool TryGetValue(string key, out GgufValue value)
    {
        if (_index.TryGetValue(key, out int i))
        {
            value = _entries[i].Value;
            return true;
        }
        value = default;
        return false;
    }

    public GgufValue Get(string key) =>
        TryGetValue(key, out var v) ? v : throw new GgufKeyException($"metadata key '{key}' is missing");

    private T GetTyped<T>(string key, GgufValueType expected)
    {
        var v = Get(key);
        if (v.Type != expected)
        {
            throw new GgufKeyException(
                $"metadata key '{key}' has type {GgufValueTypes.Name(v.Type)}, expected {GgufValueTypes.Name(expected)}");
        }
        return (T)v.Value;
    }

    public string GetString(string key) => GetTyped<string>(key, GgufValueType.String);
    public uint GetUInt32(string key) => GetTyped<uint>(key, GgufValueType.UInt32);
    public int GetInt32(string key) => GetTyped<int>(key, GgufValueType.Int32);
    public ulong GetUInt64(string key) => GetTyped<ulong>(key, GgufValueType.UInt64);
    public float GetFloat32(string key) => GetTyped<float>(key, GgufValueType.Float32);
    public bool GetBool(string key) => GetTyped<bool>(key, GgufValueType.Bool);
    public GgufArray GetArray(string key) => GetTyped<GgufArray>(key, GgufValueType.Array);

    /// <summary>An array whose elements must be of the given type.</summary>
    public T[] GetArray<T>(string key, GgufValueType elementType)
    {
        var a = GetArray(key);
        if (a.ElementType != elementType)
        {
            throw new GgufKeyException(
                $"metadata key '{key}' is an array of {GgufValueTypes.Name(a.ElementType)}, expected {GgufValueTypes.Name(elementType)}");
        }
        return a.As<T>();
    }

    /// <summary>An integer stored with any integer type (writers differ between u32, i32 and u64 for counts).</summary>
    public long GetInteger(string key)
    {
        var v = Get(key);
        return v.TryGetInteger(out long n)
            ? n
            : throw new GgufKeyException($"metadata key '{key}' has type {GgufValueTypes.Name(v.Type)}, expected an integer");
    }

    public long GetInteger(string key, long fallback) => ContainsKey(key) ? GetInteger(key) : fallback;

    /// <summary>A float stored as f32 or f64.</summary>
    public float GetFloat(string key)
    {
        var v = Get(key);
        return v.Value switch
        {
            float f => f,
            double d => (float)d,
            _ => throw new GgufKeyException($"metadata key '{key}' has type {GgufValueTypes.Name(v.Type)}, expected f32"),
        };
    }

    public float GetFloat(string key, float fallback) => ContainsKey(key) ? GetFloat(key) : fallback;
    public bool GetBool(string key, bool fallback) => ContainsKey(key) ? GetBool(key) : fallback;
    public string? GetStringOrNull(string key) => ContainsKey(key) ? GetString(key) : null;
}
