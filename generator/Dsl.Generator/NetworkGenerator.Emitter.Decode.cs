using Dsl.Generator.Layers;
using Dsl.Generator.Model;

namespace Dsl.Generator;

public sealed partial class NetworkGenerator
{
    internal static partial class Emitter
    {
        /// <summary>
        /// Whether the network gets a decode step (<c>IDecoder</c>): an embedding first, every step one that acts on each
        /// token or is causal attention (<see cref="LayerHandler.Decodes"/>), and per-token logits over the embedding's
        /// vocabulary last. Any other network simply has none.
        /// </summary>
        public static bool Decodes(NetworkSpec spec)
        {
            if (spec.Layers.Count == 0 || spec.Layers[0].Kind != LayerKind.Embedding) return false;
            foreach (LayerSpec layer in spec.Layers)
                if (!layer.Handler.Decodes(layer)) return false;
            LayerSpec last = spec.Layers[spec.Layers.Count - 1];
            return last.Output.IsTokens && last.Output.Features == spec.Layers[0].Get<EmbeddingOptions>().Vocabulary;
        }

        /// <summary>
        /// <c>IDecoder</c>: the context length and vocabulary, the cache's size, and <c>DecodeStep</c>, which runs one token
        /// row through the steps as batch-1 inference runs the whole sequence, repeats looped the same way. Each step
        /// writes its row into its region of the cache (<see cref="Plan.DecodeSlots"/>); attention keeps its keys and
        /// values there.
        /// </summary>
        private static void EmitDecoding(SourceWriter w, NetworkSpec spec, Plan plan)
        {
            int length = spec.Layers[0].Output.Width, vocabulary = spec.Layers[0].Get<EmbeddingOptions>().Vocabulary;
            w.Line("/// <inheritdoc/>");
            w.Line($"int global::Dsl.IDecoder.ContextLength => {length};");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line($"int global::Dsl.IDecoder.Vocabulary => {vocabulary};");
            w.Line();
            w.Line($"/// <summary>A decode cache for one sequence at a time: every step's row and each attention layer's keys and values, {SourceWriter.Grouped(plan.DecodeFloats)} floats.</summary>");
            w.Line($"public global::Dsl.DecodeCache CreateDecodeCache() => new(this, {plan.DecodeFloats});");
            w.Line();
            w.Line("/// <inheritdoc/>");
            EmitOptimisedFromFirstCall(w);
            w.OpenBlock($"public void DecodeStep(int token, int position, global::Dsl.DecodeCache cache, {Span} logits)");
            w.Line("global::System.ArgumentNullException.ThrowIfNull(cache);");
            w.Line("ref float m = ref MemoryMarshal.GetReference(cache.Begin(this, token, position, logits));");
            w.Line("ref float p = ref MemoryMarshal.GetReference(_parameters.Values);");
            w.Line("ref float y = ref MemoryMarshal.GetReference(logits);");
            string current = "m"; // the embedding reads the token, not a row
            for (int l = 0; l < spec.Layers.Count; l++)
            {
                if (plan.LoopAt(l) is { } loop)
                {
                    string input = Names.LoopLocal(loop.Number, "Input");
                    OpenLoop(w, plan, loop, ascending: true, $"scoped ref float {input} = ref {current};");
                    string inner = input;
                    for (int j = loop.First; j < loop.First + loop.Steps; j++) inner = EmitDecodeStep(w, plan, j, inner, last: false, loop);
                    if (inner != input) w.Line($"{input} = ref {inner};");
                    CloseLoop(w);
                    current = input;
                    l = loop.End - 1;
                    continue;
                }
                current = EmitDecodeStep(w, plan, l, current, last: l == spec.Layers.Count - 1, loop: null);
            }
            w.CloseBlock();
        }

        private static string EmitDecodeStep(SourceWriter w, Plan plan, int index, string current, bool last, LoopPlan? loop)
        {
            LayerSpec layer = plan.Step(index).Layer;
            w.Line();
            w.Line($"// {layer.Handler.Describe(layer)}{(layer.Input.IsTokens || layer.Output.IsTokens ? ", for the one new token" : "")}");
            return layer.Handler.EmitDecodeStep(new CallSite(w, plan, index, loop), current, last);
        }
    }
}
