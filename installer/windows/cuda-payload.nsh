; Included by the NSIS installer (CPACK_NSIS_EXTRA_INSTALL_COMMANDS). NSIS cannot hold more than 2 GB, and
; LibTorch's CUDA DLLs (cuBLAS, cuDNN, torch_cuda) are 3-4 GB, so they ship beside the installer as
; lowbit-cuda-runtime.7z (made by scripts/package-windows.ps1) and are unpacked into $INSTDIR\bin here with the
; 7-Zip command-line tool the installer carries (bin\7za.exe). This build links LibTorch's CUDA part, so without
; the archive the app cannot start yet: the installer says so and where to put the archive.
IfFileExists "$EXEDIR\lowbit-cuda-runtime.7z" 0 lowbit_no_cuda_payload
  DetailPrint "Unpacking the CUDA runtime (about 3 GB)..."
  nsExec::ExecToLog '"$INSTDIR\bin\7za.exe" x "$EXEDIR\lowbit-cuda-runtime.7z" -o"$INSTDIR\bin" -y'
  Pop $0
  StrCmp $0 "0" lowbit_cuda_payload_done
  MessageBox MB_ICONEXCLAMATION "The CUDA runtime could not be unpacked (7-Zip exit code $0; is the disk full?). LowBit Studio cannot start without it: free some space and run the installer again."
  Goto lowbit_cuda_payload_done
lowbit_no_cuda_payload:
  MessageBox MB_ICONEXCLAMATION "lowbit-cuda-runtime.7z was not found next to the installer. LowBit Studio cannot start without it: download it to the same folder as this installer and run the installer again."
lowbit_cuda_payload_done:
