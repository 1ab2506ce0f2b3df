"""The phases of `addon edge-apps`: thin adapters over the libraries; `data.AddonData` is what they may read."""
