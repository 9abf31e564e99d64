"""A stand-in for the OpenAI, Moonshot/Kimi, Anthropic and Gemini APIs, for trying Augment without keys.

The real SDK clients talk to it through their base-URL settings; answers are
deterministic, labelled as sandbox output, and faults can be injected per run.
"""

from sandbox.llm.app import LlmSandboxSettings, create_llm_sandbox_app

__all__ = ["LlmSandboxSettings", "create_llm_sandbox_app"]
