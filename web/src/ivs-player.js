// The Amazon IVS Player Web SDK as a script a plain page loads: window.IVSPlayer.
import * as IVSPlayer from "amazon-ivs-player";
window.IVSPlayer = IVSPlayer;
